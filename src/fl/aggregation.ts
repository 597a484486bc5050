// Aggregation rules of a round, over the native kernels.
//
// Every rule copies an update into its own storage when it is staged (`stage`), computes the norm
// of that copy, and aggregates exactly that copy: the caller may reuse or overwrite its array as
// soon as the call returns (a transport's receive buffer). Aggregating the caller's array later
// would let a vector other than the one that was measured and clipped into the sum.
// - 'mean': Σ c_k u_k (÷ Σ c_k when normalised), streamed: staged copies go into a pending K×D
//   matrix of up to 16 rows (fewer for large D, ≤ 64 MiB) that is folded into the native float64
//   Aggregator in one pass (Aggregator.addMany reads and writes the float64 state once per 16
//   updates instead of once per update), so memory is O(D) whatever K.
// - 'median', 'trimmed-mean': coordinate-wise robust rules (Yin et al., ICML 2018). They need all
//   K updates at once (O(K·D) memory), are unweighted (every accepted report counts once, which
//   is what bounds the influence of a Byzantine minority) and run off the JS thread.
// - 'krum', 'multi-krum', 'bulyan': distance-based robust rules (Blanchard et al., NeurIPS 2017;
//   El Mhamdi et al., ICML 2018) tolerating `byzantine` = f bad reports; multi-Krum averages the
//   K − f best-scored updates. They also hold all K updates and are unweighted. When a round has
//   fewer reports than f needs (K > 2f + 2; Bulyan K ≥ 4f + 3), f is lowered to the largest the
//   round allows, as trim is; below 3 reports no update can be told apart and the round is skipped.
// Norm bounding (Sun et al., "Can You Really Backdoor Federated Learning?", 2019): with a bound
// B each update is scaled by min(1, B / ‖u‖) — for 'mean' through its coefficient, for the
// robust rules on the copy.
import { Aggregator } from '../kernels/aggregate.js';
import { clipByNorm, perSampleNorms } from '../kernels/clip.js';
import { invalidArgument, isDpflError } from '../errors.js';
import { float32Array, nonNegativeInteger, optionsObject } from '../validate.js';
import {
  bulyanAsync,
  coordinateMedianAsync,
  krumAsync,
  multiKrumAsync,
  trimCount,
  trimmedMeanAsync,
} from '../kernels/fl.js';

export type AggregationRule = 'mean' | 'median' | 'trimmed-mean' | 'krum' | 'multi-krum' | 'bulyan';

type RobustRule = Exclude<AggregationRule, 'mean'>;

export interface RoundAggregatorOptions {
  /** 'trimmed-mean': a count or a fraction of the reports dropped at each end. Default 0.1. */
  trim?: number;
  /** 'krum', 'multi-krum', 'bulyan': f, the Byzantine reports tolerated (integer ≥ 0). Default 1. */
  byzantine?: number;
  /** Norm bound B: each update is scaled by min(1, B / ‖u‖). */
  normBound?: number;
}

export interface RoundAggregator {
  readonly count: number;
  /**
   * Copies an update of the round's dimension into the aggregator's own storage and returns the
   * L2 norm of the copy: NaN when a value is NaN or ±Inf, Infinity when every value is finite but
   * the norm overflows float32. The copy counts only once committed; the next stage replaces an
   * uncommitted one.
   */
  stage(update: Float32Array): number;
  /** Counts the staged copy with its coefficient (scaled by the norm bound, if any). */
  commit(coefficient: number): void;
  /** stage + commit, for callers that need no norm first. */
  add(update: Float32Array, coefficient: number): void;
  /**
   * Adds a pre-summed block of `count` updates, each with the same coefficient and each already
   * bounded by its own client (secure aggregation: the server only ever sees the sum). The sum is
   * not re-bounded as if it were one update; it counts as `count` reports. 'mean' only.
   */
  addSum(sum: Float32Array, count: number, coefficient: number): void;
  /**
   * The aggregate, or undefined when nothing usable was added. Rejects with code
   * ERR_DPFL_NON_FINITE when it does not fit in float32.
   */
  result(normalize: boolean): Promise<Float32Array | undefined>;
}

/** The scale min(1, B / ‖u‖) of norm bounding (1 without a bound). */
export function boundScale(norm: number, bound: number | undefined): number {
  return bound === undefined || norm <= bound ? 1 : bound / norm;
}

const FOLD = 16; // updates folded per pass over the float64 state (measured best of 8, 16, 32)
const PENDING_BYTES = 64 * 2 ** 20; // cap on the pending matrix: fewer rows per fold for large D

function checkUpdate(update: unknown, dim: number): Float32Array {
  const u = float32Array('update', update, false);
  if (u.length !== dim) throw invalidArgument('update.length', `the round's dimension (${dim})`, u.length);
  return u;
}

function normOf(row: Float32Array): number {
  // One native pass; only a non-finite norm needs the second pass that tells the two cases apart.
  const norm = perSampleNorms(row, 1)[0]!;
  if (Number.isFinite(norm)) return norm;
  return row.every(Number.isFinite) ? Infinity : NaN;
}

class MeanAggregator implements RoundAggregator {
  readonly #agg: Aggregator;
  readonly #fold: number;
  #pending: Float32Array | undefined; // #fold rows of dim, allocated on the first stage
  #rows = 0;
  #staged: number | undefined; // the staged row's norm
  readonly #pendingWeights: number[] = [];
  // Σ c_k without the bounding scales: normalising by the scaled total would undo the bound.
  #coefficients = 0;
  #reports = 0; // committed updates, a pre-summed block counting as its size
  constructor(
    readonly dim: number,
    readonly bound: number | undefined,
  ) {
    this.#agg = new Aggregator(dim);
    this.#fold = Math.max(1, Math.min(FOLD, Math.floor(PENDING_BYTES / (4 * dim))));
  }
  get count(): number {
    return this.#reports;
  }
  stage(update: Float32Array): number {
    this.#pending ??= new Float32Array(this.#fold * this.dim);
    const row = this.#pending.subarray(this.#rows * this.dim, (this.#rows + 1) * this.dim);
    row.set(checkUpdate(update, this.dim));
    this.#staged = normOf(row);
    return this.#staged;
  }
  commit(coefficient: number): void {
    const norm = this.#staged;
    if (norm === undefined) throw invalidArgument('stage', 'called before commit', undefined);
    if (!Number.isFinite(norm)) throw invalidArgument('the staged update', 'of finite norm to be committed', norm);
    this.#staged = undefined;
    this.#pendingWeights.push(coefficient * boundScale(norm, this.bound));
    this.#coefficients += coefficient;
    this.#reports += 1;
    this.#rows += 1;
    if (this.#rows === this.#fold) this.#flush();
  }
  addSum(sum: Float32Array, count: number, coefficient: number): void {
    if (!Number.isSafeInteger(count) || count < 1) throw invalidArgument('count', 'a positive integer', count);
    const norm = this.stage(sum);
    this.#staged = undefined;
    if (!Number.isFinite(norm)) throw invalidArgument('sum', 'finite', norm, 'ERR_DPFL_NON_FINITE');
    // Each of the count updates was bounded by its client: the block weighs c per update, unscaled.
    this.#pendingWeights.push(coefficient);
    this.#coefficients += coefficient * count;
    this.#reports += count;
    this.#rows += 1;
    if (this.#rows === this.#fold) this.#flush();
  }
  add(update: Float32Array, coefficient: number): void {
    this.stage(update);
    this.commit(coefficient);
  }
  #flush(): void {
    if (this.#rows === 0) return;
    this.#agg.addMany(this.#pending!.subarray(0, this.#rows * this.dim), this.#pendingWeights);
    this.#rows = 0;
    this.#pendingWeights.length = 0;
  }
  async result(normalize: boolean): Promise<Float32Array | undefined> {
    this.#flush();
    this.#pending = undefined;
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
  #staged: { row: Float32Array; norm: number } | undefined;
  constructor(
    readonly dim: number,
    readonly rule: RobustRule,
    readonly trim: number,
    readonly byzantine: number,
    readonly bound: number | undefined,
  ) {}
  get count(): number {
    return this.#rows.length;
  }
  stage(update: Float32Array): number {
    const row = Float32Array.from(checkUpdate(update, this.dim));
    this.#staged = { row, norm: normOf(row) };
    return this.#staged.norm;
  }
  commit(_coefficient: number): void {
    const s = this.#staged;
    if (s === undefined) throw invalidArgument('stage', 'called before commit', undefined);
    if (!Number.isFinite(s.norm)) throw invalidArgument('the staged update', 'of finite norm to be committed', s.norm);
    this.#staged = undefined;
    if (this.bound !== undefined && s.norm > this.bound) clipByNorm(s.row, this.bound);
    this.#rows.push(s.row);
  }
  add(update: Float32Array, coefficient: number): void {
    this.stage(update);
    this.commit(coefficient);
  }
  addSum(): void {
    throw invalidArgument(
      'aggregation',
      "'mean' for a securely aggregated sum (a robust rule needs each update)",
      this.rule,
    );
  }
  async result(): Promise<Float32Array | undefined> {
    if (this.#rows.length === 0) return undefined;
    const k = this.#rows.length;
    switch (this.rule) {
      case 'median':
        return coordinateMedianAsync(this.#rows);
      case 'trimmed-mean': {
        // A count larger than the round allows is clamped to ⌊(K − 1) / 2⌋ (fewer reports than planned).
        const t = this.trim >= 1 ? Math.min(this.trim, Math.floor((k - 1) / 2)) : trimCount(this.trim, k);
        return trimmedMeanAsync(this.#rows, { trim: t });
      }
      case 'bulyan':
        if (k < 3) return undefined;
        return bulyanAsync(this.#rows, { byzantine: Math.min(this.byzantine, Math.floor((k - 3) / 4)) });
      default: {
        if (k < 3) return undefined;
        const byzantine = Math.min(this.byzantine, Math.floor((k - 3) / 2));
        return this.rule === 'krum' ? krumAsync(this.#rows, { byzantine }) : multiKrumAsync(this.#rows, { byzantine });
      }
    }
  }
}

export const AGGREGATION_RULES: readonly AggregationRule[] = [
  'mean',
  'median',
  'trimmed-mean',
  'krum',
  'multi-krum',
  'bulyan',
];

export function createRoundAggregator(
  rule: AggregationRule,
  dim: number,
  options: RoundAggregatorOptions = {},
): RoundAggregator {
  const opts = optionsObject('options', options);
  if (!AGGREGATION_RULES.includes(rule)) throw invalidArgument('rule', `one of ${AGGREGATION_RULES.join(', ')}`, rule);
  if (rule === 'mean') return new MeanAggregator(dim, opts.normBound);
  const byzantine = nonNegativeInteger('options.byzantine', opts.byzantine ?? 1);
  return new RobustAggregator(dim, rule, opts.trim ?? 0.1, byzantine, opts.normBound);
}

/**
 * A round's aggregate, settled: undefined when nothing usable was added, null when it does not
 * fit in float32 (the aggregator's ERR_DPFL_NON_FINITE, or a non-finite value in its output).
 */
export async function settledResult(
  aggregator: RoundAggregator,
  normalize: boolean,
): Promise<Float32Array | undefined | null> {
  try {
    const out = await aggregator.result(normalize);
    return out === undefined ? undefined : out.every(Number.isFinite) ? out : null;
  } catch (e) {
    if (isDpflError(e, 'ERR_DPFL_NON_FINITE')) return null;
    throw e;
  }
}
