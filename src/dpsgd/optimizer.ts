// The DP optimizer. A step runs the verbs Opacus names, in order: clip and accumulate (the
// accumulate* calls: per-example gradients of any framework as a B x D matrix or per-variable
// blocks, or a built-in model by ghost clipping and book-keeping) → charge the ledger (the budget
// guard) → noise (std σ·C) → scale (÷ expected batch size) → update (SGD with momentum or Adam,
// update.ts) → adapt C (adaptive-clipping.ts) or follow the clip schedule. Several accumulate calls
// before one step() form a virtual (logical) batch: one noise draw per step. The non-private
// baseline is its own class (non-private.ts).
import {
  Accountant,
  type AccountantState,
  type DpEvent,
  type HistoryEntry,
  type PrivacyAccountant,
} from '../accounting/index.js';
import { invalidArgument, invalidType } from '../errors.js';
import { clipAndSum, perSampleNorms } from '../kernels/clip.js';
import { float32Array, positiveFinite, typedArray, typedArrayKind } from '../validate.js';
import { interleaveBlocks, readBlocks, splitViews, type Blocks } from '../kernels/clip-blocks.js';
import { addGaussianNoise, addGaussianNoiseAsync, type GaussianNoiseOptions } from '../kernels/noise.js';
import { addScaledNormals } from '../kernels/noise-prefetch.js';
import { NoisePrefetcher } from './noise-prefetch.js';
import { weightedSum } from '../kernels/aggregate.js';
import { Random, SecureRandom } from '../data/random.js';
import {
  clipScales,
  normaliseRule,
  splitThresholdUnchecked,
  type CheckedClippingRule,
  type ClippingKind,
  type ClippingRule,
} from './clipping.js';
import { adaptiveClippingEvent, countNoiseStd, nextClipNorm, sumNoiseMultiplier } from './adaptive-clipping.js';
import { ParameterUpdate, type UpdateRule } from './update.js';
import { clippingGroupsOf, sumIntoGroups, type GhostClippable } from './ghost.js';
import {
  ContributionMap,
  fixedRows,
  gatherRows,
  zeroRows,
  scatterRows,
  sparseEmbeddingsOption,
  splitNoiseMultiplier,
  type FixedSparseEmbeddings,
  type SparseEmbeddings,
  type SparseEmbeddingsOptions,
} from './sparse-embeddings.js';

export type { UpdateRule } from './update.js';
export type { GhostClippable } from './ghost.js';
export type { SparseEmbeddingsOptions } from './sparse-embeddings.js';

export interface DpOptimizerOptions {
  /**
   * The flat parameter vector, updated in place. Under update { kind: 'none' } it is never written
   * (its length is the gradient's size D; the caller's optimizer reads noisyGradient instead).
   */
  params: Float32Array;
  /**
   * Parameter group end offsets (per-layer clipping); default one group. With accumulateModel and
   * per-layer clipping they must be the model's groupEnds or a coarsening of them (every end here
   * is one of the model's); other rules clip one norm per example and ignore them.
   */
  groupEnds?: readonly number[];
  /**
   * Clipping norm C (the initial C for adaptive clipping). A function of the 0-based step gives a
   * clip schedule (not with adaptive clipping); per-layer thresholds scale with it.
   */
  maxGradNorm: number | ((step: number) => number);
  /** σ: noise std is σ·C. A function of the 0-based step gives a schedule (each step accounted with its own σ). */
  noiseMultiplier: number | ((step: number) => number);
  /** Divisor of the noisy sum: q·N for Poisson sampling, b for fixed-size batches. */
  expectedBatchSize: number;
  /** The privacy event of one step for a given σ (from the sampler: sampler.event.bind(sampler)). */
  event: (noiseMultiplier: number) => DpEvent;
  clipping?: ClippingRule | ClippingKind;
  update: UpdateRule;
  /**
   * The ledger every step is charged to before its noisy sum is used. The budget guard is the
   * accountant's (new Accountant({ budget })): a step it refuses throws BudgetExceededError and
   * changes nothing. The optimizer's step count is derived from it (accountant.releases).
   */
  accountant?: PrivacyAccountant;
  /** Reproducible noise (Philox, for experiments); omitted: secure noise from the OS CSPRNG. */
  seed?: number | bigint;
  /**
   * true: step() reports nothing computed from the data without noise — StepReport then has no
   * `examples`, `clipped` or `nonFinite` (absent, not zero). Those counts are outside ε (see
   * StepReport); withhold them when the report can reach anyone the guarantee protects against.
   */
  withholdUnnoisedStats?: boolean;
  /**
   * true: the noise of the next step is drawn on a worker thread (off the core's thread pool) right
   * after a step takes its own, so a step waits only for whatever of it is not ready. The same bits
   * as without (seeded runs are bit-identical); each draw serves one step, is zeroed after use, and
   * is discarded when a step is refused or fails or a state is restored. Costs two float64 buffers
   * of params.length (16 bytes per parameter).
   */
  prefetchNoise?: boolean;
  /**
   * DP-AdaFEST (sparse-embeddings.ts): the gradient noise lands only on the rows of the embedding
   * table a noisy contribution map selects (and on every parameter outside the table); the other
   * rows are released as zero. noiseMultiplier stays the σ a step is accounted at: it is split into
   * the selection's σ₁ and the gradient's σ₂ with σ₁⁻² + σ₂⁻² = σ⁻². Only with accumulateModel (the
   * map is read from the model's bags) and not with adaptive clipping. Under SGD without momentum
   * or weight decay the update touches only the selected rows; momentum, weight decay and Adam
   * move every row (the released gradient stays sparse, the update is its dense post-processing).
   */
  sparseEmbeddings?: SparseEmbeddingsOptions;
}

/**
 * What a step did. `step`, `maxGradNorm` and `noiseMultiplier` are public or functions of earlier
 * noised releases (inside ε). `examples` (the realised batch size), `clipped` and `nonFinite` are
 * exact counts over the private batch, not covered by ε — `clipped` is nearly the very count
 * adaptive clipping noises. They are absent when the optimizer withholds un-noised statistics.
 */
export interface StepReport {
  step: number;
  /** Examples in the logical batch (outside ε). */
  examples?: number;
  /** Examples scaled down by clipping (outside ε). */
  clipped?: number;
  /** Examples dropped for a non-finite gradient norm (outside ε). */
  nonFinite?: number;
  maxGradNorm: number;
  noiseMultiplier: number;
  /**
   * Under sparseEmbeddings: the table rows the noisy contribution map selected (a function of the
   * noised map: inside ε).
   */
  selectedRows?: number;
}

/**
 * Everything a checkpoint needs to continue bit-identically. The ledger is the truth: `step` must
 * equal its release count, and is only checked against it, never trusted.
 */
export interface OptimizerState {
  step: number;
  maxGradNorm: number;
  /** The update's buffers (velocity, or Adam's m and v): ParameterUpdate's explicit list. */
  buffers: Record<string, Float32Array>;
  /** The accountant's ledger (toJSON()); absent: the current ledger is kept and step is checked against it. */
  accountant?: AccountantState;
  /**
   * Checkpoints before 0.2.0 counted non-private steps here; a DpOptimizer takes none (the baseline
   * is NonPrivateOptimizer), so only 0 is accepted. Default 0.
   */
  plainSteps?: number;
  /** DP-FEST: the fixed rows trained (getState gives them; setState needs them with a private selection). */
  sparseRows?: Int32Array | readonly number[];
}

/** What one private step releases and how: fixed by #charge before the noise is drawn. */
interface StepPlan {
  step: number;
  sigma: number;
  std: number;
  noise: GaussianNoiseOptions;
}

/** Largest finite float32: the noisy sum must stay below it. */
const FLOAT32_MAX = 3.4028234663852886e38;
/**
 * A Gaussian sample built from float64 uniforms cannot exceed sqrt(2·1074·ln 2) ≈ 38.6 standard
 * deviations (the smallest positive double is 2^-1074): 40σ bounds every noise value.
 */
const NOISE_TAIL = 40;
/** What to raise when adaptive clipping's count noise is too small for σ (Theorem 1 needs σ_b > σ/2). */
const COUNT_NOISE_HINT = 'clipping.countNoise (default expectedBatchSize / 20)';

/** Parameter group end offsets: increasing, ending at params.length (default one group). */
function groupEndsOption(value: readonly number[] | undefined, length: number): number[] {
  const ends = value ?? [length];
  const increasing =
    Array.isArray(ends) && ends.every((e, i) => Number.isSafeInteger(e) && e > (i === 0 ? 0 : (ends[i - 1] as number)));
  if (!increasing || ends.length === 0 || ends[ends.length - 1] !== length) {
    throw invalidArgument('groupEnds', `increasing end offsets ending at params.length (${length})`, ends);
  }
  return [...ends];
}

/** σ of a step: a constant, or a schedule called once per step (memoised). */
function noiseMultiplierOption(value: number | ((step: number) => number)): (step: number) => number {
  if (typeof value !== 'function') {
    const s = positiveFinite('noiseMultiplier', value);
    return () => s;
  }
  // The schedule is called once per step: the noise and the accounted event read the same σ.
  let memo: { step: number; sigma: number } | undefined;
  return (s) => {
    if (memo?.step !== s) memo = { step: s, sigma: positiveFinite(`noiseMultiplier(${s})`, value(s)) };
    return memo.sigma;
  };
}

/** The Philox seed of reproducible noise, or undefined for secure noise. */
function seedOption(seed: unknown): bigint | undefined {
  if (seed === undefined) return undefined;
  if (typeof seed === 'bigint') return seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw invalidArgument('seed', 'a non-negative safe integer or bigint', seed);
  }
  return BigInt(seed);
}

export class DpOptimizer {
  readonly params: Float32Array;
  readonly groupEnds: readonly number[];
  readonly accountant: PrivacyAccountant;
  readonly clipping: ClippingKind;
  readonly expectedBatchSize: number;
  /** Whether step() leaves the un-noised counts (outside ε) out of its report. */
  readonly withholdUnnoisedStats: boolean;
  private readonly rule: CheckedClippingRule;
  private readonly update: ParameterUpdate;
  private readonly sigma: (step: number) => number;
  private readonly eventOf: (noiseMultiplier: number) => DpEvent;
  private readonly seed: bigint | undefined;
  private readonly sum: Float32Array;
  private groupMaxNorms: number[];
  private baseGroupMaxNorms: number[] = [];
  private c: number;
  private readonly clipSchedule: ((step: number) => number) | undefined;
  private pendingExamples = 0;
  private pendingClipped = 0;
  private pendingNonFinite = 0;
  private pendingBelow = 0;
  private sqBuf = new Float64Array(0);
  private groupSqBuf = new Float64Array(0);
  private externalSumPending = false;
  /** True until something is written into sum in the current logical batch. */
  private sumFresh = true;
  private scratch = new Float64Array(0);
  private scaleBufs: Float32Array[] = [];
  private chunk: Float32Array | null = null;
  /** True while stepAsync() draws noise into sum on a worker thread. */
  private inFlight = false;
  /** The next step's noise, drawn ahead (prefetchNoise); null when off. */
  readonly #prefetch: NoisePrefetcher | null;
  /** DP-AdaFEST's options and the contribution map of the logical batch (undefined: dense noise). */
  private readonly sparse: SparseEmbeddings | FixedSparseEmbeddings | undefined;
  private readonly map: ContributionMap | undefined;
  /** The selected rows' gradient (then their parameters), gathered: k × dim. */
  private rowBuf = new Float32Array(0);
  private paramRowBuf = new Float32Array(0);
  /** Releases in the ledger that are not steps: DP-FEST's selection (charged at construction). */
  #otherReleases = 0;
  /** DP-FEST's rows (a checkpoint of the run restores them with its ledger). */
  #fixedRows: Int32Array | null = null;
  /** Under sparseEmbeddings with a stateful rule: the released gradient (see #sparseUpdate). */
  private released: Float32Array | null = null;

  constructor(options: DpOptimizerOptions) {
    if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
    if (!(options.params instanceof Float32Array) || options.params.length === 0)
      throw invalidType('params', 'a non-empty Float32Array', options.params);
    this.params = options.params;
    this.groupEnds = groupEndsOption(options.groupEnds, this.params.length);
    if (typeof options.maxGradNorm === 'function') {
      const f = options.maxGradNorm;
      this.clipSchedule = (st) => positiveFinite(`maxGradNorm(${st})`, f(st));
      this.c = this.clipSchedule(0);
    } else {
      this.c = positiveFinite('maxGradNorm', options.maxGradNorm);
    }
    // One guard, in the accountant: an optimizer-level budget would be a second, bypassable copy.
    const budget = (options as { budget?: unknown }).budget;
    if (budget !== undefined) {
      throw invalidArgument('budget', 'absent (give the accountant the budget: new Accountant({ budget }))', budget);
    }
    this.sigma = noiseMultiplierOption(options.noiseMultiplier);
    this.expectedBatchSize = positiveFinite('expectedBatchSize', options.expectedBatchSize);
    if (typeof options.event !== 'function')
      throw invalidType('event', 'a function (noiseMultiplier) => DpEvent', options.event);
    this.eventOf = options.event;
    const sizes = this.groupEnds.map((e, i) => e - (i === 0 ? 0 : this.groupEnds[i - 1]!));
    this.rule = normaliseRule(options.clipping, sizes);
    this.clipping = this.rule.kind;
    this.groupMaxNorms =
      this.rule.kind === 'per-layer' ? [...(this.rule.maxNorms ?? splitThresholdUnchecked(this.c, sizes))] : [this.c];
    if (this.rule.kind === 'per-layer') this.c = Math.hypot(...this.groupMaxNorms);
    this.baseGroupMaxNorms = [...this.groupMaxNorms];
    if (this.clipSchedule !== undefined && this.rule.kind === 'adaptive') {
      throw invalidArgument('maxGradNorm', 'a number under adaptive clipping (C is then learned)', 'a function');
    }
    this.update = new ParameterUpdate(options.update, this.params.length);
    const withhold = options.withholdUnnoisedStats ?? false;
    if (typeof withhold !== 'boolean') throw invalidType('withholdUnnoisedStats', 'a boolean', withhold);
    this.withholdUnnoisedStats = withhold;
    this.accountant = options.accountant ?? new Accountant();
    // Not replaceable at run time (`readonly` binds only TypeScript): the ledger charged is the one given.
    Object.defineProperty(this, 'accountant', { writable: false, configurable: false });
    this.seed = seedOption(options.seed);
    this.sum = new Float32Array(this.params.length);
    if (options.sparseEmbeddings !== undefined) {
      if (this.rule.kind === 'adaptive') {
        const expected = 'absent under adaptive clipping (its count noise would need a three-way split of σ)';
        throw invalidArgument('sparseEmbeddings', expected, 'given');
      }
      this.sparse = sparseEmbeddingsOption(options.sparseEmbeddings, this.params.length);
      this.map = this.sparse.kind === 'adaptive' ? new ContributionMap(this.sparse) : undefined;
      this.#fixedRows = this.sparse.kind === 'fixed' ? this.sparse.rows : null;
    }
    if (options.prefetchNoise === true && options.sparseEmbeddings !== undefined) {
      // The selection's noise and the selected rows are known only at the step: nothing to draw ahead.
      throw invalidArgument('prefetchNoise', 'false with sparseEmbeddings (its noise depends on the selection)', true);
    }
    const prefetch = options.prefetchNoise ?? false;
    if (typeof prefetch !== 'boolean') throw invalidType('prefetchNoise', 'a boolean', prefetch);
    this.#prefetch = prefetch ? new NoisePrefetcher(this.params.length) : null;
    // DP-FEST's selection was released before training: charged now (last, once nothing can be
    // refused) and not counted as a step.
    const selection = this.sparse?.kind === 'fixed' ? this.sparse.selectionEvent : null;
    if (selection !== null) this.accountant.step(selection);
    this.#otherReleases = selection === null ? 0 : 1;
    this.#prefetch?.start(this.#stepCount, this.#noiseOf(this.#stepCount));
  }

  /** The noise stream of a step: (seed, stream 0, offset step·d), or a fresh secure key. */
  #noiseOf(step: number): GaussianNoiseOptions {
    return this.seed === undefined ? {} : { seed: this.seed, stream: 0, offset: step * this.params.length };
  }

  /** Steps taken. */
  get steps(): number {
    return this.#stepCount;
  }

  /**
   * The step counter, derived from the ledger (the private steps are its releases) rather than
   * kept beside it, so no edit of a counter can make a step look unaccounted.
   */
  get #stepCount(): number {
    return this.accountant.releases - this.#otherReleases;
  }

  /**
   * Under update { kind: 'none' }: the last step's noisy gradient (noisy clipped sum ÷ expected batch
   * size; params.length floats, zeros before the first step), for another framework's optimizer to
   * apply. The same array every step, overwritten by the next: copy what must outlive it.
   */
  get noisyGradient(): Float32Array {
    const g = this.update.output;
    if (g === undefined) throw invalidArgument('update.kind', '"none" to read noisyGradient', this.update.rule.kind);
    return g;
  }

  /** The current clipping norm C (moves under adaptive clipping). */
  get maxGradNorm(): number {
    return this.c;
  }

  /** γ of automatic clipping (unused by the other rules). */
  get #gamma(): number {
    return this.rule.kind === 'automatic' ? this.rule.gamma : 0;
  }

  /**
   * The noise multiplier the gradient gets at a step: σ, or under adaptive clipping the σ_Δ of
   * Andrew et al. (σ_Δ⁻² = σ⁻² − (2σ_b)⁻²), so gradient and count together cost exactly what σ alone
   * would (stepEvent).
   */
  gradientNoiseMultiplier(step = this.#stepCount): number {
    const s = this.sigma(step);
    if (this.sparse?.kind === 'adaptive') return splitNoiseMultiplier(s, this.sparse.ratio).gradient;
    if (this.rule.kind !== 'adaptive') return s;
    return sumNoiseMultiplier(s, countNoiseStd(this.rule, this.expectedBatchSize), 'clipping', COUNT_NOISE_HINT);
  }

  /**
   * Under sparseEmbeddings: σ₁, the noise multiplier of the contribution map's counts (std σ₁·C₁),
   * σ·√(1 + r²); null without it.
   */
  selectionNoiseMultiplier(step = this.#stepCount): number | null {
    if (this.sparse?.kind !== 'adaptive') return null;
    return splitNoiseMultiplier(this.sigma(step), this.sparse.ratio).selection;
  }

  /**
   * The event one step releases: the sampler's event at σ, under every clipping rule. Under
   * adaptive clipping the noised sum (std σ_Δ·C, sensitivity C) and the noised centred count
   * Σ(1[‖g‖ ≤ C] − ½) (std σ_b, add/remove sensitivity ½) are computed on the same sample: one
   * Gaussian mechanism on the pair, whose sensitivity after whitening is √(σ_Δ⁻² + (2σ_b)⁻²) = 1/σ,
   * subsampled once (Andrew et al. 2021, Theorem 1) — not two independently subsampled releases.
   * Replace-one neighbours (fixed-size batches) double both sensitivities (sum 2C, count 1), so
   * the whitened sensitivity doubles too and the sampler's event (multiplier σ/2) covers the pair.
   */
  stepEvent(step = this.#stepCount): DpEvent {
    if (this.rule.kind !== 'adaptive') return this.eventOf(this.sigma(step));
    const sigmaB = countNoiseStd(this.rule, this.expectedBatchSize);
    return adaptiveClippingEvent(this.eventOf, this.sigma(step), sigmaB, 'clipping', COUNT_NOISE_HINT);
  }

  #ensure(batch: number, modelGroups = this.groupEnds.length): void {
    const g = Math.max(this.groupEnds.length, modelGroups);
    if (this.sqBuf.length < batch * g) this.sqBuf = new Float64Array(batch * g * 2);
    const perGroup = batch * this.groupEnds.length;
    if (this.groupSqBuf.length < perGroup) this.groupSqBuf = new Float64Array(perGroup * 2);
    if (this.scratch.length < batch) this.scratch = new Float64Array(batch * 2);
    if ((this.scaleBufs[0]?.length ?? 0) < batch)
      this.scaleBufs = Array.from({ length: g }, () => new Float32Array(batch * 2));
  }

  /**
   * Clips a built-in model's per-example gradients by ghost norms and adds their sum (book-keeping).
   * batchSize must be the batch of the model's last forwardBackward. The ghost norms are taken at
   * the model's own group layout and reduced to the rule's: one norm per example (flat, adaptive,
   * automatic), or one per optimizer group (per-layer; groupEnds must coarsen the model's).
   */
  accumulateModel(model: GhostClippable, batchSize: number): void {
    this.#assertIdle('accumulateModel');
    this.#assertNoiseCoversThresholds();
    if (!Number.isSafeInteger(batchSize) || batchSize < 0) {
      throw invalidArgument('batchSize', 'a non-negative integer', batchSize);
    }
    const toGroup = clippingGroupsOf(model, this.params.length, this.groupEnds, this.rule.kind === 'per-layer');
    if (batchSize !== model.batchSize) {
      const expected = `the batch of the model's last forwardBackward (${model.batchSize})`;
      throw invalidArgument('batchSize', expected, batchSize);
    }
    const bags = this.#modelBags(model);
    const first = this.sumFresh;
    if (batchSize === 0) return;
    if (bags !== null) this.map?.add(bags.indices, bags.offsets, batchSize);
    const gm = toGroup.length;
    const perLayer = this.rule.kind === 'per-layer';
    const g = perLayer ? this.groupEnds.length : 1;
    this.#ensure(batchSize, gm);
    const sqModel = this.sqBuf.subarray(0, batchSize * gm);
    model.ghostSqNorms(sqModel, this.scratch);
    // Each example's squared norms summed into its clipping groups (Σ over a group's layers).
    let sq = sqModel;
    if (gm !== g) sq = sumIntoGroups(sqModel, batchSize, toGroup, g, this.groupSqBuf.subarray(0, batchSize * g));
    const views = this.scaleBufs.map((s) => s.subarray(0, batchSize));
    const res = clipScales(sq, batchSize, g, this.rule.kind, this.groupMaxNorms, this.#gamma, views);
    if (res.nonFinite.length > 0) model.dropExamples(res.nonFinite);
    // Every model group gets the factor of its clipping group: none is left unscaled.
    const rowScales = toGroup.map((k) => res.scales[perLayer ? k : 0]!);
    model.backwardParams(this.sum, rowScales, !first);
    this.sumFresh = false;
    this.#note(batchSize, res.clipped, res.nonFinite.length, res.belowThreshold);
  }

  /** Under sparseEmbeddings: the model's last bags, after checking its table is the one configured. */
  #modelBags(model: GhostClippable): { indices: Int32Array; offsets: Int32Array } | null {
    if (this.sparse === undefined) return null;
    const t = model.embeddingTable;
    const want = this.sparse.table;
    if (t === undefined || t.offset !== want.offset || t.rows !== want.rows || t.dim !== want.dim) {
      const where = `${want.rows} × ${want.dim} at ${want.offset}`;
      const expected = `a model whose embedding table is sparseEmbeddings.table (${where})`;
      throw invalidArgument(
        'model',
        expected,
        t === undefined ? 'a model without one' : `${t.rows} × ${t.dim} at ${t.offset}`,
      );
    }
    const bags = t.lastBags();
    if (bags === null) throw invalidArgument('model', 'one that has run forwardBackward on bags', 'no bags');
    return bags;
  }

  /** The per-example paths cannot see which rows an example touches: sparseEmbeddings needs accumulateModel. */
  #assertDense(method: string): void {
    if (this.sparse !== undefined) {
      throw invalidArgument(method, 'not used under sparseEmbeddings (use accumulateModel)', 'a call');
    }
  }

  /**
   * Per-layer clipping bounds a contribution by √Σ C_k² and the noise std is σ·C: C must cover the
   * thresholds, whatever last set it (a restored state's maxGradNorm, a schedule).
   */
  #assertNoiseCoversThresholds(): void {
    if (this.rule.kind !== 'per-layer') return;
    const bound = Math.hypot(...this.groupMaxNorms);
    if (!(bound <= this.c * (1 + 1e-9))) {
      const expected = `at least √Σ C_k² = ${Number(bound.toPrecision(12))} under per-layer clipping (noise std σ·C)`;
      throw invalidArgument('maxGradNorm', expected, this.c);
    }
  }

  /**
   * For trainers that compute ghost norms themselves: the clipping factors of a batch from its
   * squared per-example norms (batchSize x groups, row-major; groups = groupEnds.length), under
   * this optimizer's rule. Scale each example's output gradient by its factor, backpropagate once
   * and pass the resulting clipped sum to addClippedSum. Returns one factor vector per group (the
   * same vector for every group unless per-layer); examples with non-finite norms get 0.
   */
  clipFactors(sqNorms: Float64Array | Float32Array, batchSize: number): Float32Array[] {
    this.#assertIdle('clipFactors');
    this.#assertDense('clipFactors');
    this.#assertNoiseCoversThresholds();
    const g = this.groupEnds.length;
    if (!Number.isSafeInteger(batchSize) || batchSize < 0)
      throw invalidArgument('batchSize', 'a non-negative integer', batchSize);
    const kind = typedArrayKind(sqNorms);
    if (kind !== 'Float64Array' && kind !== 'Float32Array')
      throw invalidType('sqNorms', 'a Float64Array or Float32Array', sqNorms);
    if (sqNorms.length !== batchSize * g)
      throw invalidArgument('sqNorms.length', `batchSize x groups (${batchSize * g})`, sqNorms.length);
    // Float32 norms (what tfjs gives) are widened exactly: the same factors as for the same values in float64.
    const sq =
      kind === 'Float32Array'
        ? Float64Array.from(float32Array('sqNorms', sqNorms, false))
        : typedArray('sqNorms', sqNorms, 'Float64Array');
    const out = Array.from({ length: g }, () => new Float32Array(batchSize));
    const res = clipScales(sq, batchSize, g, this.rule.kind, this.groupMaxNorms, this.#gamma, out);
    this.#note(batchSize, res.clipped, res.nonFinite.length, res.belowThreshold);
    this.externalSumPending = true;
    // A vector for every group: a caller indexing factors[k] never finds a group without one.
    return this.rule.kind === 'per-layer' ? res.scales : out.map(() => res.scales[0]!);
  }

  /**
   * Adds a clipped sum computed with the factors of clipFactors: params.length floats, or a list of
   * per-variable sums whose lengths add up to params.length (laid out in order, no concatenation).
   */
  addClippedSum(sum: Float32Array | Float32Array[]): void {
    this.#assertIdle('addClippedSum');
    const parts = Array.isArray(sum) ? sum.map((p, k) => float32Array(`sum[${k}]`, p, false)) : null;
    if (parts === null) float32Array('sum', sum, false);
    const length = parts === null ? (sum as Float32Array).length : parts.reduce((a, p) => a + p.length, 0);
    if (length !== this.params.length) {
      const name = parts === null ? 'sum.length' : 'sum (total length)';
      throw invalidArgument(name, `params.length (${this.params.length})`, length);
    }
    if (!this.externalSumPending)
      throw invalidArgument(
        'addClippedSum',
        'called after clipFactors for the same batch',
        'no pending clipFactors call',
      );
    // Refused here, not by the noise kernel after the step was charged.
    if (!(parts ?? [sum as Float32Array]).every((p) => p.every(Number.isFinite))) {
      throw invalidArgument('sum', 'finite (a clipped sum)', 'a sum with NaN or ±Infinity');
    }
    const views =
      parts === null
        ? [this.sum]
        : splitViews(
            this.sum,
            parts.map((p) => p.length),
          );
    (parts ?? [sum as Float32Array]).forEach((p, k) => {
      if (this.sumFresh) views[k]!.set(p);
      else if (p.length > 0) weightedSum([views[k]!, p], [1, 1], { out: views[k]! });
    });
    this.sumFresh = false;
    this.externalSumPending = false;
  }

  /**
   * Clips per-example gradients (from any framework) and adds their sum: one batchSize x D matrix,
   * or per-variable blocks (block k batchSize x n_k, Σ n_k = D) read in place. Per-layer clipping
   * interleaves blocks into the matrix first (one copy); the other rules never copy them.
   */
  accumulatePerSampleGrads(grads: Float32Array | Float32Array[], batchSize: number): void {
    this.#assertIdle('accumulatePerSampleGrads');
    this.#assertDense('accumulatePerSampleGrads');
    this.#assertNoiseCoversThresholds();
    if (!Number.isSafeInteger(batchSize) || batchSize < 0)
      throw invalidArgument('batchSize', 'a non-negative integer', batchSize);
    if (batchSize === 0) return;
    const first = this.sumFresh;
    const d = this.params.length;
    let blocks: Blocks | null = null;
    let matrix: Float32Array | null = null;
    if (Array.isArray(grads)) {
      blocks = readBlocks(grads, batchSize);
      const width = blocks.widths.reduce((a, n) => a + n, 0);
      if (width !== d) throw invalidArgument('grads', `blocks of total width params.length (${d})`, width);
      if (this.rule.kind === 'per-layer') [matrix, blocks] = [interleaveBlocks(blocks), null];
    } else {
      matrix = float32Array('grads', grads, false);
      if (matrix.length !== batchSize * d)
        throw invalidArgument('grads.length', `batchSize x params.length (${batchSize * d})`, matrix.length);
    }
    const out = first ? this.sum : this.#chunkSum();
    const outs = blocks === null ? [out] : splitViews(out, blocks.widths);
    // The rows to weigh: the matrix, or each block (a batchSize x n_k matrix of its own).
    const parts =
      blocks === null ? [{ rows: matrix!, n: d }] : blocks.blocks.map((b, k) => ({ rows: b, n: blocks.widths[k]! }));
    let clipped = 0;
    let nonFinite = 0;
    let below = 0;
    if (this.rule.kind === 'automatic' || this.rule.kind === 'adaptive') {
      const norms = blocks === null ? perSampleNorms(matrix!, batchSize) : perSampleNorms(blocks.blocks, batchSize);
      const sq = Float64Array.from(norms, (x) => x * x);
      this.#ensure(batchSize);
      const view = [this.scaleBufs[0]!.subarray(0, batchSize)];
      const res = clipScales(sq, batchSize, 1, this.rule.kind, [this.c], this.#gamma, view);
      // Rows with NaN/Inf get weight 0, but a 0·NaN product is NaN: sum the finite rows only.
      const keep = [...Array(batchSize).keys()].filter((r) => !res.nonFinite.includes(r));
      const w = Float64Array.from(keep, (r) => res.scales[0]![r]!);
      parts.forEach(({ rows, n }, k) => {
        if (n === 0) return;
        if (keep.length === batchSize) weightedSum(rows, w, { out: outs[k]! });
        else if (keep.length > 0)
          weightedSum(
            keep.map((r) => rows.subarray(r * n, (r + 1) * n)),
            w,
            { out: outs[k]! },
          );
        else outs[k]!.fill(0);
      });
      clipped = res.clipped;
      nonFinite = res.nonFinite.length;
      below = res.belowThreshold;
    } else if (blocks !== null) {
      const r = clipAndSum(blocks.blocks, batchSize, this.c, { out: outs });
      clipped = r.clipped;
      nonFinite = r.nonFinite;
    } else {
      const perLayer = this.rule.kind === 'per-layer';
      const r = clipAndSum(
        matrix!,
        batchSize,
        this.c,
        perLayer ? { groups: this.groupEnds, maxNorms: this.groupMaxNorms, out } : { out },
      );
      clipped = r.clipped;
      nonFinite = r.nonFinite;
    }
    if (!first) this.#addToSum(out);
    this.sumFresh = false;
    this.#note(batchSize, clipped, nonFinite, below);
  }

  /** Scratch for the clipped sum of a later physical batch of a virtual batch. */
  #chunkSum(): Float32Array {
    if (this.chunk === null) this.chunk = new Float32Array(this.params.length);
    return this.chunk;
  }

  /** sum += x in place, natively (the same float64-add-then-round bits as a loop). */
  #addToSum(x: Float32Array): void {
    weightedSum([this.sum, x], [1, 1], { out: this.sum });
  }

  #note(examples: number, clipped: number, nonFinite: number, below: number): void {
    this.pendingExamples += examples;
    this.pendingClipped += clipped;
    this.pendingNonFinite += nonFinite;
    this.pendingBelow += below;
  }

  /**
   * Ends the logical batch: charges the step's event to the accountant (a budget guard refuses it,
   * throwing BudgetExceededError, before anything is changed), adds noise to the clipped sum, scales
   * by 1 / expected batch size and updates the parameters. An empty batch still takes a step: the
   * noise alone is released, as the analysis of Poisson sampling assumes.
   */
  step(): StepReport {
    if (this.sparse !== undefined) {
      const plan = this.#charge();
      return this.#finishStep(plan, this.#sparseNoise(plan));
    }
    const pf = this.#prefetch;
    if (pf === null) {
      const plan = this.#charge();
      addGaussianNoise(this.sum, plan.std, plan.noise); // noise
      return this.#finishStep(plan);
    }
    try {
      const plan = this.#charge();
      const z = pf.take(plan.step); // waits only for what the worker has not drawn yet
      pf.start(plan.step + 1, this.#noiseOf(plan.step + 1)); // the next step's, into the other buffer
      this.#addNoise(plan, z);
      return this.#finishStep(plan);
    } catch (e) {
      pf.discardAll(); // a refused or failed step: no prefetched noise serves another release
      throw e;
    }
  }

  /** sum += std·z from a prefetched buffer (then zeroed), or drawn now when none was ready. */
  #addNoise(plan: StepPlan, z: Float64Array | null): void {
    if (z === null) {
      addGaussianNoise(this.sum, plan.std, plan.noise);
      return;
    }
    try {
      addScaledNormals(this.sum, z, plan.std); // the bits addGaussianNoise gives
    } finally {
      this.#prefetch!.release(z);
    }
  }

  /** DP-AdaFEST's selection from the noisy contribution map (stream 2 when seeded). */
  #selectRows(step: number, rows: number): Int32Array {
    const selNoise = this.seed === undefined ? {} : { seed: this.seed, stream: 2, offset: step * rows };
    const uniforms = this.seed === undefined ? new SecureRandom() : Random.derive(this.seed, 2, step);
    return this.map!.select(this.selectionNoiseMultiplier(step)!, selNoise, uniforms);
  }

  /**
   * The noise of sparseEmbeddings: takes the step's rows (DP-AdaFEST's selection or DP-FEST's fixed
   * rows), gathers
   * their gradient rows into rowBuf and noises them, and noises every parameter outside the table in
   * place. Seeded, each part reads the samples the dense path gives its first position, so when
   * every row is selected the noise is the dense path's, bit for bit.
   */
  #sparseNoise(plan: StepPlan): Int32Array {
    const { offset, rows, dim } = this.sparse!.table;
    const d = this.params.length;
    const end = offset + rows * dim;
    const sel = this.#fixedRows ?? this.#selectRows(plan.step, rows);
    const at = (o: number): GaussianNoiseOptions =>
      this.seed === undefined ? {} : { seed: this.seed, stream: 0, offset: plan.step * d + o };
    if (this.rowBuf.length < sel.length * dim) this.rowBuf = new Float32Array(sel.length * dim);
    const g = gatherRows(this.sum.subarray(offset, end), dim, sel, this.rowBuf.subarray(0, sel.length * dim));
    addGaussianNoise(g, plan.std, at(offset));
    if (offset > 0) addGaussianNoise(this.sum.subarray(0, offset), plan.std, at(0));
    if (end < d) addGaussianNoise(this.sum.subarray(end), plan.std, at(end));
    return sel;
  }

  /**
   * step() with the noise drawn off the JavaScript thread (the same bits). Until it settles the
   * optimizer refuses every other call that would touch its buffers; the parameters change only
   * when it settles.
   */
  async stepAsync(): Promise<StepReport> {
    // DP-AdaFEST's noise covers the selected rows and the layers outside the table: drawn here.
    if (this.sparse !== undefined) {
      const plan = this.#charge();
      return this.#finishStep(plan, this.#sparseNoise(plan));
    }
    const pf = this.#prefetch;
    let plan: StepPlan;
    try {
      plan = this.#charge();
    } catch (e) {
      pf?.discardAll();
      throw e;
    }
    this.inFlight = true;
    try {
      if (pf === null) {
        await addGaussianNoiseAsync(this.sum, plan.std, plan.noise); // noise, off the JavaScript thread
      } else {
        const z = await pf.takeAsync(plan.step);
        pf.start(plan.step + 1, this.#noiseOf(plan.step + 1));
        if (z === null) await addGaussianNoiseAsync(this.sum, plan.std, plan.noise);
        else this.#addNoise(plan, z);
      }
    } catch (e) {
      pf?.discardAll();
      throw e;
    } finally {
      this.inFlight = false;
    }
    return this.#finishStep(plan);
  }

  /**
   * Drops the logical batch in progress (its clipped sums and counts) without releasing anything:
   * after a step the budget refused, or a trainer whose gradient computation failed half-way, the
   * next batch must not inherit it.
   */
  discardBatch(): void {
    this.#assertIdle('discardBatch');
    this.pendingExamples = this.pendingClipped = this.pendingNonFinite = this.pendingBelow = 0;
    this.externalSumPending = false;
    this.sumFresh = true;
    this.map?.discard();
  }

  #assertIdle(method: string): void {
    if (this.inFlight)
      throw invalidArgument(
        method,
        'called after the pending stepAsync() settles',
        'a call while stepAsync() is in flight',
      );
  }

  /**
   * Checks everything the step needs, then charges it to the accountant (whose budget guard may
   * refuse it: BudgetExceededError, nothing changed), then hands out the noise parameters. Nothing
   * that can fail comes after the charge, so no budget is spent on a step that is then refused.
   */
  #charge(): StepPlan {
    this.#assertIdle('step');
    if (this.externalSumPending)
      throw invalidArgument(
        'step',
        'preceded by addClippedSum after clipFactors',
        'a clipFactors call without its clipped sum',
      );
    const step = this.#stepCount;
    // σ(step) is memoised per step: the noise and the charged event read one call of a schedule.
    const sigma = this.gradientNoiseMultiplier(step);
    const event = this.stepEvent(step);
    const std = sigma * this.c;
    // Each clipped example adds at most C to any coordinate, the noise at most 40·std: the noisy sum
    // stays a finite float32 (and the noise kernel accepts it) whenever this bound does.
    const bound = this.pendingExamples * this.c + NOISE_TAIL * std;
    if (!(bound <= FLOAT32_MAX)) {
      const expected = `small enough that examples·C + 40·σ·C ≤ ${FLOAT32_MAX} (float32 maximum)`;
      throw invalidArgument('maxGradNorm', expected, this.c);
    }
    const noise = this.#noiseOf(step);
    this.accountant.step(event);
    if (this.sumFresh) this.sum.fill(0);
    return { step, sigma, std, noise };
  }

  /** After the noise: scale and update, then adapt C or follow the clip schedule; the next batch starts. */
  #finishStep(plan: StepPlan, selected?: Int32Array): StepReport {
    const report = this.#report(plan);
    if (selected !== undefined) report.selectedRows = selected.length;
    if (selected === undefined) this.#update(plan.step, this.#scale());
    else this.#sparseUpdate(plan.step, this.#scale(), selected);
    this.#adaptThreshold(plan.step);
    this.#applyClipSchedule(); // the step count already includes this step: the ledger was charged
    this.pendingExamples = this.pendingClipped = this.pendingNonFinite = this.pendingBelow = 0;
    this.sumFresh = true;
    return report;
  }

  /** The step's report: the un-noised counts only when they are not withheld. */
  #report({ step, sigma }: StepPlan): StepReport {
    const counts = { examples: this.pendingExamples, clipped: this.pendingClipped, nonFinite: this.pendingNonFinite };
    return this.withholdUnnoisedStats
      ? { step, maxGradNorm: this.c, noiseMultiplier: sigma }
      : { step, ...counts, maxGradNorm: this.c, noiseMultiplier: sigma };
  }

  /** Scale: the noisy sum over the expected batch size (q·N or b), a fixed denominator. */
  #scale(): number {
    return 1 / this.expectedBatchSize;
  }

  /** Update: params from the noisy sum times scale (fused into the update kernel: one rounding, as before). */
  #update(step: number, scale: number): void {
    this.update.apply(this.params, this.sum, step, scale);
  }

  /**
   * DP-AdaFEST's update. Plain SGD (no momentum, no weight decay) moves a parameter only by its
   * gradient: the layers outside the table and the selected rows (gathered, updated, scattered:
   * the same elementwise kernel, so the same bits as a dense update) are all it touches. Any other
   * rule moves rows without gradient too: the whole vector is updated with the released gradient
   * (noised selected rows, zeros elsewhere), which takes one more parameter-sized buffer.
   */
  #sparseUpdate(step: number, scale: number, sel: Int32Array): void {
    const { offset, rows, dim } = this.sparse!.table;
    const end = offset + rows * dim;
    const g = this.rowBuf.subarray(0, sel.length * dim);
    const u = this.update.rule;
    const plain = u.kind === 'sgd' && (u.momentum ?? 0) === 0 && (u.weightDecay ?? 0) === 0;
    if (!plain) {
      // The released gradient: the sum outside the table, the noised selected rows, zeros on every
      // other row. Its buffer stays zero on the table between steps (only the rows a step wrote are
      // cleared after it), so a step costs O(selected rows), not a pass over the table.
      if (this.released === null) this.released = new Float32Array(this.params.length);
      const r = this.released;
      r.set(this.sum.subarray(0, offset));
      r.set(this.sum.subarray(end), end);
      const table = r.subarray(offset, end);
      scatterRows(g, dim, sel, table);
      try {
        this.update.apply(this.params, r, step, scale);
      } finally {
        zeroRows(table, dim, sel);
      }
      return;
    }
    const [p, s] = [this.params, this.sum];
    if (offset > 0) this.update.apply(p.subarray(0, offset), s.subarray(0, offset), step, scale);
    if (end < p.length) this.update.apply(p.subarray(end), s.subarray(end), step, scale);
    if (sel.length === 0) return;
    if (this.paramRowBuf.length < g.length) this.paramRowBuf = new Float32Array(g.length);
    const table = p.subarray(offset, end);
    const rowsP = gatherRows(table, dim, sel, this.paramRowBuf.subarray(0, g.length));
    this.update.apply(rowsP, g, step, scale);
    scatterRows(rowsP, dim, sel, table);
  }

  /** Sets C (and the per-layer thresholds, scaled alike) for the coming step from the clip schedule. */
  #applyClipSchedule(): void {
    if (this.clipSchedule === undefined) return;
    const first = this.baseGroupMaxNorms;
    const c0 = this.rule.kind === 'per-layer' ? Math.hypot(...first) : first[0]!;
    const c = this.clipSchedule(this.#stepCount);
    const k = this.rule.kind === 'per-layer' ? c / this.clipSchedule(0) : 1;
    this.groupMaxNorms = this.rule.kind === 'per-layer' ? first.map((x) => x * k) : [c];
    this.c = this.rule.kind === 'per-layer' ? c0 * k : c;
  }

  /** Adaptive clipping's geometric update of C from the noised count (adaptive-clipping.ts). */
  #adaptThreshold(step: number): void {
    if (this.rule.kind !== 'adaptive') return;
    const noise = this.seed === undefined ? {} : { seed: this.seed, stream: 1, offset: step };
    this.c = nextClipNorm(this.c, this.pendingBelow, this.pendingExamples, this.expectedBatchSize, this.rule, noise);
    this.groupMaxNorms = [this.c];
  }

  /** The state to checkpoint: the update's buffers, C and the ledger (the step count is derived from it). */
  getState(): OptimizerState {
    this.#assertIdle('getState');
    const accountant = this.accountant.toJSON();
    const state: OptimizerState = {
      step: this.#stepCount,
      maxGradNorm: this.c,
      buffers: this.update.state(),
      accountant,
      plainSteps: 0,
    };
    if (this.#fixedRows !== null) state.sparseRows = this.#fixedRows.slice();
    return state;
  }

  /**
   * Restores getState() output: the ledger (when given) and the buffers. The step count is
   * re-derived from the ledger; a state whose step disagrees with it (or is not a non-negative
   * integer) is refused. Everything is validated before anything changes.
   */
  setState(state: OptimizerState): void {
    this.#assertIdle('setState');
    if (typeof state !== 'object' || state === null) throw invalidType('state', 'an optimizer state object', state);
    const plain = state.plainSteps ?? 0;
    if (typeof plain !== 'number' || !Number.isSafeInteger(plain) || plain < 0) {
      throw invalidArgument('state.plainSteps', 'a non-negative integer', plain);
    }
    if (plain !== 0) {
      const expected = "0 (non-private steps are NonPrivateOptimizer's, not in a DpOptimizer state)";
      throw invalidArgument('state.plainSteps', expected, plain);
    }
    if (typeof state.step !== 'number' || !Number.isSafeInteger(state.step) || state.step < 0) {
      throw invalidArgument('state.step', 'a non-negative integer', state.step);
    }
    const c = positiveFinite('state.maxGradNorm', state.maxGradNorm);
    let ledger: readonly HistoryEntry[] | undefined;
    if (state.accountant !== undefined) {
      const restored = Accountant.fromJSON(state.accountant);
      if (restored.accountant !== this.accountant.accountant) {
        const kind = `"${this.accountant.accountant}" (this optimizer's accountant)`;
        throw invalidArgument('state.accountant.accountant', kind, restored.accountant);
      }
      ledger = restored.history;
    }
    const releases =
      (ledger === undefined ? this.accountant.releases : ledger.reduce((n, h) => n + h.count, 0)) - this.#otherReleases;
    if (state.step !== releases) {
      throw invalidArgument('state.step', `the ledger's step count (${releases} private steps)`, state.step);
    }
    // DP-FEST with a private selection: the ledger restored holds the selection that chose the
    // checkpoint's rows, so those rows must come with it (training on others would use a release
    // the ledger does not hold).
    let rows: Int32Array | null = null;
    if (this.sparse?.kind === 'fixed' && (state.sparseRows !== undefined || this.#otherReleases > 0)) {
      if (state.sparseRows === undefined) {
        throw invalidArgument('state.sparseRows', "the checkpoint's DP-FEST rows (from getState)", undefined);
      }
      rows = fixedRows(state.sparseRows, this.sparse.table.rows, 'state.sparseRows');
    } else if (state.sparseRows !== undefined) {
      throw invalidArgument('state.sparseRows', 'absent (this optimizer trains no fixed rows)', 'given');
    }
    const restoreBuffers = this.update.prepareRestore('state.buffers', state.buffers);
    if (ledger !== undefined) this.accountant.restore(ledger);
    restoreBuffers();
    if (rows !== null) this.#fixedRows = rows;
    this.#prefetch?.discardAll(); // drawn for the old step count
    this.c = c;
    if (this.rule.kind !== 'per-layer') this.groupMaxNorms = [this.c];
    this.#applyClipSchedule();
  }
}
