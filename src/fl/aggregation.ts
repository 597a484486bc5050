// Aggregation rules of a round, over the native kernels.
//
// - 'mean': Σ c_k u_k (÷ Σ c_k when normalised), streamed: accepted updates are held (not
//   copied) until 16 have arrived and then folded into the native float64 Aggregator in one pass
//   (Aggregator.addMany reads and writes the float64 state once per 16 updates instead of once per
//   update), so memory is O(D) whatever K. Callers must not modify an update after adding it.
// - 'median', 'trimmed-mean': coordinate-wise robust rules (Yin et al., ICML 2018). They need all
//   K updates at once (O(K·D) memory), are unweighted (every accepted report counts once, which
//   is what bounds the influence of a Byzantine minority) and run off the JS thread.
// Norm bounding (Sun et al., "Can You Really Backdoor Federated Learning?", 2019): with a bound
// B each update is scaled by min(1, B / ‖u‖) — for 'mean' through its coefficient (the caller's
// array is not modified), for the robust rules on a copy.
import { Aggregator } from '../kernels/aggregate.js';
import { clipByNorm } from '../kernels/clip.js';
import { coordinateMedianAsync, trimCount, trimmedMeanAsync } from '../kernels/fl.js';

export type AggregationRule = 'mean' | 'median' | 'trimmed-mean';

export interface RoundAggregator {
  readonly count: number;
  /** Folds in an update (finite, of the right length) with its coefficient and L2 norm. */
  add(update: Float32Array, coefficient: number, norm: number): void;
  /** The aggregate, or undefined when nothing usable was added. */
  result(normalize: boolean): Promise<Float32Array | undefined>;
}

/** The scale min(1, B / ‖u‖) of norm bounding (1 without a bound). */
export function boundScale(norm: number, bound: number | undefined): number {
  return bound === undefined || norm <= bound ? 1 : bound / norm;
}

const FOLD = 16; // updates folded per pass over the float64 state (measured best of 8, 16, 32)

class MeanAggregator implements RoundAggregator {
  readonly #agg: Aggregator;
  readonly #pending: Float32Array[] = [];
  readonly #pendingWeights: number[] = [];
  // Σ c_k without the bounding scales: normalising by the scaled total would undo the bound.
  #coefficients = 0;
  constructor(
    dim: number,
    readonly bound: number | undefined,
  ) {
    this.#agg = new Aggregator(dim);
  }
  get count(): number {
    return this.#agg.count + this.#pending.length;
  }
  add(update: Float32Array, coefficient: number, norm: number): void {
    this.#pending.push(update);
    this.#pendingWeights.push(coefficient * boundScale(norm, this.bound));
    this.#coefficients += coefficient;
    if (this.#pending.length === FOLD) this.#flush();
  }
  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#agg.addMany(this.#pending, this.#pendingWeights);
    this.#pending.length = 0;
    this.#pendingWeights.length = 0;
  }
  async result(normalize: boolean): Promise<Float32Array | undefined> {
    this.#flush();
    if (this.#agg.count === 0 || (normalize && !(this.#coefficients > 0))) return undefined;
    if (!normalize || this.bound === undefined) return this.#agg.result({ normalize });
    const out = this.#agg.result({ normalize: false });
    const inv = 1 / this.#coefficients;
    for (let i = 0; i < out.length; i++) out[i] = out[i]! * inv;
    return out;
  }
}

class RobustAggregator implements RoundAggregator {
  readonly #rows: Float32Array[] = [];
  constructor(
    readonly rule: 'median' | 'trimmed-mean',
    readonly trim: number,
    readonly bound: number | undefined,
  ) {}
  get count(): number {
    return this.#rows.length;
  }
  add(update: Float32Array, _coefficient: number, norm: number): void {
    const copy = Float32Array.from(update);
    if (this.bound !== undefined && norm > this.bound) clipByNorm(copy, this.bound);
    this.#rows.push(copy);
  }
  async result(): Promise<Float32Array | undefined> {
    if (this.#rows.length === 0) return undefined;
    if (this.rule === 'median') return coordinateMedianAsync(this.#rows);
    // A count larger than the round allows is clamped to ⌊(K − 1) / 2⌋ (fewer reports than planned).
    const k = this.#rows.length;
    const t = this.trim >= 1 ? Math.min(this.trim, Math.floor((k - 1) / 2)) : trimCount(this.trim, k);
    return trimmedMeanAsync(this.#rows, { trim: t });
  }
}

/** trim: a count or a fraction of the reports dropped at each end ('trimmed-mean' only). */
export function createRoundAggregator(rule: AggregationRule, dim: number, options: { trim?: number; normBound?: number } = {}): RoundAggregator {
  if (rule === 'mean') return new MeanAggregator(dim, options.normBound);
  return new RobustAggregator(rule, options.trim ?? 0.1, options.normBound);
}
