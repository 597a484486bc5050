// DP-FedAvg as a wrapper around any aggregation rule, as Flower's DP strategies wrap any strategy:
// the round's own aggregator (mean, median, trimmed mean, Krum, multi-Krum, Bulyan), created with
// the round's clipping norm S as its norm bound, clips each update to S; the wrapper counts the
// updates that needed no clipping (for adaptive clipping) and, at the end of the round, hands the
// rule's output to DpFedAvg, which noises, scales or projects, and accounts (dp.ts says how).
import { invalidArgument } from '../errors.js';
import { settledResult, type RoundAggregator } from './aggregation.js';
import type { DpFedAvg, DpRoundResult } from './dp.js';

/** A DP round's release: DpFedAvg's result, or (finite: false) a round noised and accounted but not applied. */
export type DpRelease = DpRoundResult & { finite: boolean };

export class DpRoundAggregator implements RoundAggregator {
  #staged: number | undefined;
  #unclipped = 0;
  #released = false;
  /** True when a secure sum came without its count of unclipped updates (fixed S only). */
  unknownClipped = false;

  /** inner: the round's aggregator, created with normBound = dp.clipNorm (the S of this round). */
  constructor(
    readonly inner: RoundAggregator,
    readonly dp: DpFedAvg,
    readonly dim: number,
  ) {}

  get count(): number {
    return this.inner.count;
  }

  stage(update: Float32Array): number {
    this.#staged = this.inner.stage(update);
    return this.#staged;
  }

  /** weight: the user weight w_k (dp.userWeight), which the mean applies and robust rules ignore. */
  commit(weight: number): void {
    const norm = this.#staged;
    this.inner.commit(weight); // refuses a missing or non-finite staged update
    this.#staged = undefined;
    if (norm! <= this.dp.clipNorm) this.#unclipped += 1;
  }

  add(update: Float32Array, weight: number): void {
    this.stage(update);
    this.commit(weight);
  }

  /**
   * A securely aggregated block of `count` updates, each clipped to S by its client (user weight
   * 1). `unclipped`: how many needed no clipping (adaptive clipping needs it, e.g. securely summed
   * alongside the update); undefined leaves the round's clipped count unknown.
   */
  addSum(sum: Float32Array, count: number, weight: number, unclipped?: number): void {
    if (unclipped !== undefined && !(Number.isSafeInteger(unclipped) && unclipped >= 0 && unclipped <= count))
      throw invalidArgument('unclipped', `an integer in [0, ${count}]`, unclipped);
    this.inner.addSum(sum, count, weight);
    if (unclipped === undefined) {
      this.unknownClipped = true;
      this.#unclipped += count; // only adaptive clipping reads it, and it refuses an unknown count
    } else this.#unclipped += unclipped;
  }

  /**
   * Ends the round, once: every round releases a noised update, even with no reports (skipping
   * when few users were sampled would itself reveal the sample size, which ε does not cover). An
   * aggregate that overflows float32 (only for an absurd S) is still noised and accounted from
   * zeros — conservative — but marked finite: false and not applied.
   */
  async release(): Promise<DpRelease> {
    if (this.#released) throw invalidArgument('release', 'called once per round', 'a second call');
    this.#released = true;
    const out = await settledResult(this.inner, false);
    const result = this.dp.finish(out ?? new Float32Array(this.dim), this.#unclipped, this.inner.count);
    return { ...result, finite: out !== null };
  }

  /** The released (noised) update; rejects with ERR_DPFL_NON_FINITE when the round overflowed. */
  async result(): Promise<Float32Array> {
    const r = await this.release();
    if (!r.finite)
      throw invalidArgument('the round aggregate', 'finite in float32', 'an overflow', 'ERR_DPFL_NON_FINITE');
    return r.delta;
  }
}
