// The federated server: a round is select → broadcast → collect reports → aggregate → server
// optimizer step. It is transport-agnostic: a real deployment calls beginRound / submit /
// endRound from its network handlers; simulate.ts drives it with in-process clients.
//
// Bad reports are never averaged in. Each submit is checked in this order and the first failing
// rule decides; the round report counts every outcome:
//   late        the report is for an earlier round, or arrives after the round's deadline
//   unselected  the client was not selected this round
//   duplicate   the client already reported this round (the first report is the one that counts,
//               whether it was accepted or rejected: one report per client per round)
//   wrongLength the update is not a Float32Array of the model's dimension
//   badWeight   the sample count is negative, non-finite or not an integer
//   nonFinite   the update holds NaN or Inf
// A round with fewer accepted reports than minReports is skipped: the model is left unchanged and
// the report says applied: false. With DP there is no skipping (minReports must stay 1): every
// round releases a noised update, even from zero reports, and is accounted (see endRound).
import { invalidArgument } from '../errors.js';
import { perSampleNorms } from '../kernels/clip.js';
import { createRoundAggregator, type AggregationRule, type RoundAggregator } from './aggregation.js';
import type { ClientReport } from './client.js';
import { DpFedAvg, type DpFedAvgOptions } from './dp.js';
import { createServerOptimizer, type ServerOptimizer, type ServerOptimizerName, type ServerOptimizerOptions } from './optimizers.js';
import { Rng } from './rng.js';
import { selectClients, type Selection, type SelectionOptions } from './selection.js';

export type RejectReason = 'late' | 'unselected' | 'duplicate' | 'wrongLength' | 'badWeight' | 'nonFinite';
export const REJECT_REASONS: readonly RejectReason[] = ['late', 'unselected', 'duplicate', 'wrongLength', 'badWeight', 'nonFinite'];

export interface ServerOptions {
  /** Initial global parameters (copied). */
  params: Float32Array;
  /** Sample counts n_k of the whole population (the activity selection uses); setActivity updates it. */
  activity: number[];
  selection: SelectionOptions;
  /**
   * 'unbiased' (default): Σ c_k u_k with the selection's Horvitz–Thompson / Hansen–Hurwitz
   * coefficients; 'self-normalized': the Hájek ratio Σ c_k u_k / Σ c_k (consistent, lower
   * variance, not unbiased, but robust to dropouts shrinking the sum).
   */
  estimator?: 'unbiased' | 'self-normalized';
  aggregation?: AggregationRule;
  /** 'trimmed-mean': a count or fraction trimmed at each end. Default 0.1. */
  trim?: number;
  /** Norm bound B for every update (not with dp, which clips itself). */
  normBound?: number;
  optimizer?: ServerOptimizerName;
  optimizerOptions?: ServerOptimizerOptions;
  /** Skip a round with fewer accepted reports. Default 1. */
  minReports?: number;
  /** Seconds after beginRound after which reports are late. Default: no deadline. */
  deadline?: number;
  dp?: DpFedAvgOptions;
  seed?: number;
}

export interface RoundPlan {
  round: number;
  clients: number[];
  /** The global model to broadcast (do not modify). */
  params: Float32Array;
}

export interface RoundReport {
  round: number;
  selected: number;
  accepted: number;
  /** Selected clients that never reported (dropouts; stragglers count as late, not here). */
  dropped: number;
  rejected: Record<RejectReason, number>;
  applied: boolean;
  /** L2 norm of the applied aggregate delta (before the server optimizer). */
  deltaNorm?: number;
  /** DP only: clipping norm of the round, reports clipped, ε spent so far at δ. */
  clipNorm?: number;
  clipped?: number;
  epsilon?: number;
  delta?: number;
}

function emptyRejected(): Record<RejectReason, number> {
  return { late: 0, unselected: 0, duplicate: 0, wrongLength: 0, badWeight: 0, nonFinite: 0 };
}

export class FederatedServer {
  readonly params: Float32Array;
  readonly optimizer: ServerOptimizer;
  readonly dp: DpFedAvg | undefined;
  #activity: number[];
  readonly #rng: Rng;
  #round = 0;
  #open:
    | {
        plan: RoundPlan;
        selection: Selection;
        /** Per reported sample ('samples' weighting) or per report ('uniform'). */
        coefficient: Map<number, number>;
        reported: Set<number>;
        aggregator: RoundAggregator;
        rejected: Record<RejectReason, number>;
        unclipped: number;
        opensAt: number;
      }
    | undefined;

  constructor(readonly options: ServerOptions) {
    this.params = Float32Array.from(options.params);
    this.#activity = [...options.activity];
    this.optimizer = createServerOptimizer(options.optimizer ?? 'fedavg', options.optimizerOptions);
    this.#rng = new Rng(options.seed ?? 0);
    const min = options.minReports ?? 1;
    if (!Number.isSafeInteger(min) || min < 1) throw invalidArgument('minReports', 'a positive integer', min);
    if (options.dp && min !== 1) throw invalidArgument('minReports', '1 with DP (a DP round always releases a noised update)', min);
    if (options.dp) {
      if ((options.aggregation ?? 'mean') !== 'mean') throw invalidArgument('aggregation', "'mean' with DP (the robust rules have another sensitivity)", options.aggregation);
      if (options.normBound !== undefined) throw invalidArgument('normBound', 'unset with DP (DP-FedAvg clips to dp.clipNorm)', options.normBound);
      const m = options.selection.method;
      if (m !== 'uniform' && m !== 'poisson') throw invalidArgument('selection.method', "'uniform' or 'poisson' with DP", m);
      this.dp = new DpFedAvg(this.#activity, options.selection.perRound, m, options.dp);
    }
  }

  get round(): number {
    return this.#round;
  }

  /** Updates the population's activity (continual setting: what each device stores now). */
  setActivity(activity: number[]): void {
    if (activity.length !== this.#activity.length) throw invalidArgument('activity.length', `${this.#activity.length}`, activity.length);
    this.#activity = [...activity];
  }

  /** Opens the next round: selects clients. now: seconds (simulated or wall clock). */
  beginRound(now = performance.now() / 1000): RoundPlan {
    if (this.#open) throw invalidArgument('round', 'closed (call endRound first)', this.#round);
    const selection = selectClients(this.#activity, this.options.selection, this.#rng);
    const plan = { round: this.#round, clients: selection.clients, params: this.params };
    // Coefficient per reported sample under 'samples' weighting: c_k = n_k · m_k / (N · π_k), the
    // selection's coefficient with the client's reported n_k in place of the server's (equal when
    // the client reports what the server knew). Under 'uniform' weighting c_k ignores n_k.
    const total = this.#activity.reduce((a, b) => a + b, 0);
    const bySamples = (this.options.selection.weighting ?? 'samples') === 'samples';
    const coefficient = new Map(
      selection.clients.map((k, j) => [
        k,
        bySamples ? selection.multiplicity[j]! / (total * selection.inclusion[j]!) : selection.coefficients[j]!,
      ]),
    );
    this.#open = {
      plan,
      selection,
      coefficient,
      reported: new Set(),
      aggregator: createRoundAggregator(this.options.aggregation ?? 'mean', this.params.length, {
        ...(this.options.trim !== undefined ? { trim: this.options.trim } : {}),
        ...(this.options.normBound !== undefined ? { normBound: this.options.normBound } : {}),
      }),
      rejected: emptyRejected(),
      unclipped: 0,
      opensAt: now,
    };
    return plan;
  }

  /**
   * Takes one client report; returns 'accepted' or the rule that rejected it. The update array is
   * read, never modified, and not kept after the call for the 'mean' rule.
   */
  submit(report: ClientReport, now = performance.now() / 1000): 'accepted' | RejectReason {
    const r = this.#open;
    if (!r) throw invalidArgument('round', 'open (call beginRound first)', this.#round);
    const reject = (why: RejectReason) => {
      r.rejected[why] += 1;
      return why;
    };
    const deadline = this.options.deadline;
    if (report.round !== r.plan.round) return reject('late');
    if (deadline !== undefined && now - r.opensAt > deadline) {
      // A straggler of this round: it did report, so it is not counted as dropped.
      if (r.coefficient.has(report.client)) r.reported.add(report.client);
      return reject('late');
    }
    if (!r.coefficient.has(report.client)) return reject('unselected');
    if (r.reported.has(report.client)) return reject('duplicate');
    r.reported.add(report.client);
    const u = report.update;
    if (!(u instanceof Float32Array) || u.length !== this.params.length) return reject('wrongLength');
    const n = report.samples;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return reject('badWeight');
    // One native pass: the norm is finite exactly when every value is.
    const norm = perSampleNorms(u, 1)[0]!;
    if (!Number.isFinite(norm)) return reject('nonFinite');
    if (this.dp) {
      r.aggregator.add(u, this.dp.coefficient(norm, n), norm);
      if (norm <= this.dp.clipNorm) r.unclipped += 1;
    } else {
      const c = r.coefficient.get(report.client)!;
      const coef = (this.options.selection.weighting ?? 'samples') === 'samples' ? c * n : c;
      r.aggregator.add(u, coef, norm);
    }
    return 'accepted';
  }

  /** Closes the round: aggregates, applies DP and the server optimizer, reports. */
  async endRound(): Promise<RoundReport> {
    const r = this.#open;
    if (!r) throw invalidArgument('round', 'open (call beginRound first)', this.#round);
    this.#open = undefined;
    this.#round += 1;
    const accepted = r.aggregator.count;
    const report: RoundReport = {
      round: r.plan.round,
      selected: r.selection.clients.length,
      accepted,
      dropped: r.selection.clients.filter((k) => !r.reported.has(k)).length,
      rejected: r.rejected,
      applied: false,
    };
    let delta: Float32Array | undefined;
    if (this.dp) {
      // Every DP round releases a noised update, even with no reports: skipping only when few
      // users were sampled would itself reveal the sample size, which the accounting does not cover.
      const sum = (await r.aggregator.result(false)) ?? new Float32Array(this.params.length);
      const out = this.dp.finish(sum, r.unclipped, accepted);
      delta = out.delta;
      Object.assign(report, { clipNorm: out.clipNorm, clipped: out.clipped, epsilon: out.epsilon, delta: this.dp.delta });
    } else {
      if (accepted < (this.options.minReports ?? 1)) return report;
      const normalize = r.selection.normalize || this.options.estimator === 'self-normalized';
      delta = await r.aggregator.result(normalize);
    }
    if (!delta) return report;
    let sq = 0;
    for (let i = 0; i < delta.length; i++) sq += delta[i]! * delta[i]!;
    this.optimizer.step(this.params, delta);
    return { ...report, applied: true, deltaNorm: Math.sqrt(sq) };
  }
}
