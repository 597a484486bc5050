// Batch samplers, each tied to the privacy event its analysis needs:
// - PoissonSampler: each example independently with probability q (batches of varying size,
//   possibly empty) → poisson-sampled-gaussian (add/remove-one neighbours).
// - FixedSizeSampler: a uniformly random subset of exactly b examples each step (a partial
//   Fisher–Yates shuffle) → sampled-without-replacement-gaussian (replace-one neighbours; the
//   sensitivity of a clipped sum doubles, so the event's noise multiplier is σ/2).
import { poissonSampledGaussian, sampledWithoutReplacementGaussian, type DpEvent } from '../accounting/index.js';
import { integerIn, numberValue } from '../validate.js';
import { invalidArgument, invalidType } from '../errors.js';
import { Random, SecureRandom } from '../data/random.js';

export interface SamplerState {
  kind: 'poisson' | 'fixed-size';
  rng: number[];
  steps: number;
}

export interface Sampler {
  readonly kind: 'poisson' | 'fixed-size';
  readonly datasetSize: number;
  /** Expected batch size (q·N for Poisson, b for fixed size): the divisor of the noisy sum. */
  readonly expectedBatchSize: number;
  /** Steps per epoch (N / expected batch size, rounded). */
  readonly stepsPerEpoch: number;
  /** Indices of the next batch, ascending. */
  next(): Int32Array;
  /**
   * The event of one step whose noise has standard deviation `noiseMultiplier` times the
   * add/remove-one sensitivity of the released sum (DP-SGD: σ, with std σ·C).
   */
  event(noiseMultiplier: number): DpEvent;
  getState(): SamplerState;
  setState(state: SamplerState): void;
}

function sizeArg(name: string, v: unknown): number {
  return integerIn(name, v, 1, 2 ** 31 - 1, 'a positive integer below 2^31', 'a positive integer');
}

/** A seeded generator (reproducible), or the OS CSPRNG when no seed is given (production). */
function generator(seed: unknown): Random | SecureRandom {
  if (seed === undefined) return new SecureRandom();
  if (typeof seed === 'bigint') return new Random(seed);
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)
    throw invalidArgument('seed', 'a non-negative safe integer or bigint', seed);
  return new Random(seed);
}

function restore(kind: SamplerState['kind'], state: unknown): SamplerState {
  const s = state as Partial<SamplerState> | null;
  if (typeof s !== 'object' || s === null || s.kind !== kind) throw invalidArgument('state.kind', `"${kind}"`, s?.kind);
  if (
    !Array.isArray(s.rng) ||
    s.rng.length !== 4 ||
    s.rng.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)
  ) {
    throw invalidArgument('state.rng', 'four uint32 words', s.rng);
  }
  if (!Number.isSafeInteger(s.steps) || (s.steps as number) < 0)
    throw invalidArgument('state.steps', 'a non-negative integer', s.steps);
  return s as SamplerState;
}

// Samplers are immutable after construction: the rate, sizes and methods live in private fields or
// on a frozen instance, so the event charged for a step (event()) always describes the batch that
// next() drew. (A writable sampleRate let a run draw at q = 1 while being charged at the calibrated q.)

export class PoissonSampler implements Sampler {
  readonly kind = 'poisson' as const;
  readonly #datasetSize: number;
  readonly #sampleRate: number;
  readonly #rng: Random | SecureRandom;
  #steps = 0;
  #buffer: Int32Array;

  /** Without a seed, inclusion is drawn from the OS CSPRNG. */
  constructor(options: { datasetSize: number; sampleRate: number; seed?: number | bigint }) {
    if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
    this.#datasetSize = sizeArg('datasetSize', options.datasetSize);
    const q = options.sampleRate;
    if (typeof q !== 'number' || !(q > 0 && q <= 1)) throw invalidArgument('sampleRate', 'in (0, 1]', q);
    this.#sampleRate = q;
    this.#rng = generator(options.seed);
    this.#buffer = new Int32Array(Math.min(this.#datasetSize, Math.ceil(q * this.#datasetSize * 2) + 16));
    Object.freeze(this);
  }

  get datasetSize(): number {
    return this.#datasetSize;
  }

  get sampleRate(): number {
    return this.#sampleRate;
  }

  get expectedBatchSize(): number {
    return this.#sampleRate * this.#datasetSize;
  }

  get stepsPerEpoch(): number {
    return Math.max(1, Math.round(1 / this.#sampleRate));
  }

  next(): Int32Array {
    let n = 0;
    const q = this.#sampleRate;
    for (let i = 0; i < this.#datasetSize; i++) {
      if (this.#rng.next() < q) {
        if (n === this.#buffer.length) {
          const grown = new Int32Array(Math.min(this.#datasetSize, this.#buffer.length * 2));
          grown.set(this.#buffer);
          this.#buffer = grown;
        }
        this.#buffer[n++] = i;
      }
    }
    this.#steps++;
    return this.#buffer.slice(0, n);
  }

  event(noiseMultiplier: number): DpEvent {
    return poissonSampledGaussian({ noiseMultiplier, sampleRate: this.#sampleRate });
  }

  getState(): SamplerState {
    return { kind: this.kind, rng: this.#rng.getState(), steps: this.#steps };
  }

  setState(state: SamplerState): void {
    const s = restore(this.kind, state);
    this.#rng.setState(s.rng);
    this.#steps = s.steps;
  }
}

export class FixedSizeSampler implements Sampler {
  readonly kind = 'fixed-size' as const;
  readonly #datasetSize: number;
  readonly #batchSize: number;
  readonly #rng: Random | SecureRandom;
  readonly #perm: Int32Array;
  #steps = 0;

  constructor(options: { datasetSize: number; batchSize: number; seed?: number | bigint }) {
    if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
    this.#datasetSize = sizeArg('datasetSize', options.datasetSize);
    this.#batchSize = sizeArg('batchSize', options.batchSize);
    if (this.#batchSize > this.#datasetSize) {
      throw invalidArgument('batchSize', `at most datasetSize (${this.#datasetSize})`, this.#batchSize);
    }
    this.#rng = generator(options.seed);
    this.#perm = new Int32Array(this.#datasetSize);
    for (let i = 0; i < this.#datasetSize; i++) this.#perm[i] = i;
    Object.freeze(this);
  }

  get datasetSize(): number {
    return this.#datasetSize;
  }

  get batchSize(): number {
    return this.#batchSize;
  }

  get expectedBatchSize(): number {
    return this.#batchSize;
  }

  get stepsPerEpoch(): number {
    return Math.max(1, Math.round(this.#datasetSize / this.#batchSize));
  }

  next(): Int32Array {
    // Partial Fisher–Yates over the running permutation: its first b entries are a uniform
    // b-subset whatever the permutation's starting order, so steps are independent.
    const p = this.#perm;
    const n = this.#datasetSize;
    for (let i = 0; i < this.#batchSize; i++) {
      const j = i + this.#rng.below(n - i);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    this.#steps++;
    return p.slice(0, this.#batchSize).sort();
  }

  event(noiseMultiplier: number): DpEvent {
    numberValue('noiseMultiplier', noiseMultiplier); // halved below: a caller's object must not be coerced
    return sampledWithoutReplacementGaussian({
      noiseMultiplier: noiseMultiplier / 2,
      sampleSize: this.#batchSize,
      datasetSize: this.#datasetSize,
    });
  }

  getState(): SamplerState & { perm?: number[] } {
    return { kind: this.kind, rng: this.#rng.getState(), steps: this.#steps, perm: Array.from(this.#perm) };
  }

  setState(state: SamplerState & { perm?: number[] }): void {
    const s = restore(this.kind, state);
    if (!Array.isArray(state.perm) || state.perm.length !== this.#datasetSize) {
      throw invalidArgument('state.perm', `an array of ${this.#datasetSize} indices`, state.perm);
    }
    // A permutation of 0..N-1 (a repeated index would make batches with duplicates).
    const seen = new Uint8Array(this.#datasetSize);
    for (const [i, v] of state.perm.entries()) {
      if (!Number.isInteger(v) || v < 0 || v >= this.#datasetSize || seen[v] === 1) {
        throw invalidArgument(`state.perm[${i}]`, 'a permutation of 0..datasetSize-1', v);
      }
      seen[v] = 1;
    }
    this.#rng.setState(s.rng);
    this.#perm.set(state.perm);
    this.#steps = s.steps;
  }
}
