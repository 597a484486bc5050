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
//   wrongType   the update is not a Float32Array
//   wrongLength the update is not of the model's dimension
//   badWeight   the sample count is negative, non-finite or not an integer
//   nonFinite   the update holds NaN or Inf
//   normOverflow every value is finite but the L2 norm exceeds float32
// A report that is not an object at all (null, a number) is a programming error of the caller's
// transport, not a client's misbehaviour: submit throws (code ERR_DPFL_INVALID_TYPE).
//
// Client input is untrusted and never reaches the model unchecked: the update is copied when it is
// submitted (the copy is measured, clipped and aggregated, so the caller may reuse its buffer), a
// claimed sample count is capped server-side (maxSamples), and a round whose aggregate or next
// model would not be finite in float32 is refused whole (nothing applied, reason 'nonFinite').
// A round with fewer accepted reports than minReports is skipped: the model is left unchanged and
// the report says applied: false. With DP there is no skipping (minReports must stay 1): every
// round releases a noised update, even from zero reports, and is accounted (see endRound).
import { Random, SecureRandom } from '../data/random.js';
import { invalidArgument, invalidType } from '../errors.js';
import { perSampleNorms } from '../kernels/clip.js';
import { createRoundAggregator, settledResult, type AggregationRule, type RoundAggregator } from './aggregation.js';
import type { ClientReport } from './client.js';
import { DpFedAvg, type DpFedAvgOptions, type DpFedAvgState } from './dp.js';
import { DpRoundAggregator } from './dp-aggregator.js';
import {
  createServerOptimizer,
  type ServerOptimizer,
  type ServerOptimizerName,
  type ServerOptimizerOptions,
  type ServerOptimizerState,
} from './optimizers.js';
import {
  finiteNumber,
  float32Array,
  nonNegativeFinite,
  numberArray,
  oneOf,
  positiveFinite,
  requiredObject,
  typedArrayKind,
} from '../validate.js';
import { selectClients, type Selection, type SelectionOptions } from './selection.js';

export type RejectReason =
  | 'late'
  | 'unselected'
  | 'duplicate'
  | 'wrongType'
  | 'wrongLength'
  | 'badWeight'
  | 'nonFinite'
  | 'normOverflow';
export const REJECT_REASONS: readonly RejectReason[] = [
  'late',
  'unselected',
  'duplicate',
  'wrongType',
  'wrongLength',
  'badWeight',
  'nonFinite',
  'normOverflow',
];

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
  /** 'krum', 'multi-krum', 'bulyan': f, the Byzantine reports tolerated. Default 1. */
  byzantine?: number;
  /** Norm bound B for every update (not with dp, which clips itself). */
  normBound?: number;
  optimizer?: ServerOptimizerName;
  optimizerOptions?: ServerOptimizerOptions;
  /** Skip a round with fewer accepted reports. Default 1. */
  minReports?: number;
  /** Seconds after beginRound after which reports are late. Default: no deadline. */
  deadline?: number;
  dp?: DpFedAvgOptions;
  /**
   * Cap on a report's claimed sample count (it counts as min(samples, cap)): 'activity' (default)
   * caps client k at the server's own n_k (activity[k], as setActivity last set it), a number caps
   * every client at it. A client's weight is untrusted input: without a cap one report claiming
   * 2^53 samples would set the mean alone.
   */
  maxSamples?: 'activity' | number;
  /**
   * 'exact' (default): round reports carry the exact counts (selected, accepted, dropped,
   * rejected, clipped, capped). 'withheld': those fields are absent — with DP they are not
   * noised and lie outside ε (the realised cohort size even reveals the secret sample's size).
   */
  statistics?: 'exact' | 'withheld';
  /**
   * Seed of the client selection: reproducible, for experiments only (the sample is then
   * predictable and privacy amplification by sampling does not hold). Undefined (default): the
   * selection draws from the OS CSPRNG.
   */
  seed?: number;
}

export interface RoundPlan {
  round: number;
  clients: number[];
  /** The global model to broadcast (do not modify). */
  params: Float32Array;
  /** The whole selection (coefficients, inclusion probabilities): what reopening the round needs. */
  selection: Selection;
}

/**
 * A checkpoint of the server between rounds (snapshot / restore): the round counter, the model,
 * the activity, the selection RNG's state (zeros for the OS CSPRNG, which cannot be saved), the
 * server optimizer's moments and, with DP, DpFedAvg's state (S, the accountant's ledger). An open
 * round is not part of it: its plan and reports are the transport's to persist and replay.
 */
export interface ServerSnapshot {
  round: number;
  params: Float32Array;
  activity: number[];
  rng: number[];
  optimizer: ServerOptimizerState;
  dp?: DpFedAvgState;
}

export interface RoundReport {
  round: number;
  /**
   * True when the selection (or, with DP, the noise) came from a seed: reproducible, for
   * experiments only — a known seed reveals the sample and the noise, so ε does not hold.
   */
  seeded: boolean;
  /**
   * Exact counts (absent with statistics: 'withheld'; outside ε with DP): clients selected,
   * reports accepted, selected clients that never reported (dropouts; stragglers count as late,
   * not here), rejections by rule, accepted reports whose sample count was capped.
   */
  selected?: number;
  accepted?: number;
  dropped?: number;
  rejected?: Record<RejectReason, number>;
  samplesCapped?: number;
  applied: boolean;
  /**
   * Why nothing was applied: 'minReports' (fewer accepted reports than minReports) or
   * 'nonFinite' (the aggregate or the next model would not be finite in float32; refused whole).
   */
  reason?: 'minReports' | 'nonFinite';
  /** L2 norm of the applied aggregate delta (before the server optimizer). */
  deltaNorm?: number;
  /** DP only: clipping norm of the round, ε spent so far at δ; clipped: exact count (see above). */
  clipNorm?: number;
  clipped?: number;
  epsilon?: number;
  delta?: number;
}

function emptyRejected(): Record<RejectReason, number> {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
}

/** A stored selection must be one selectClients could have made for this population. */
function checkStoredSelection(s: Selection, population: number): void {
  requiredObject('selection', s);
  const n = Array.isArray(s.clients) ? s.clients.length : -1;
  const fields = ['clients', 'coefficients', 'multiplicity', 'inclusion'] as const;
  for (const f of fields)
    if (!Array.isArray(s[f]) || s[f].length !== n || !s[f].every((v) => Number.isFinite(v)))
      throw invalidArgument(`selection.${f}`, `an array of ${n} finite numbers`, s[f]);
  if (
    !s.clients.every(
      (k, i) => Number.isSafeInteger(k) && k >= 0 && k < population && (i === 0 || k > s.clients[i - 1]!),
    )
  )
    throw invalidArgument('selection.clients', `ascending distinct client indices < ${population}`, s.clients);
  if (typeof s.normalize !== 'boolean') throw invalidType('selection.normalize', 'a boolean', s.normalize);
}

export class FederatedServer {
  readonly params: Float32Array;
  readonly optimizer: ServerOptimizer;
  readonly dp: DpFedAvg | undefined;
  #activity: number[];
  readonly #rng: Random | SecureRandom;
  #round = 0;
  #open:
    | {
        plan: RoundPlan;
        selection: Selection;
        /** Per reported sample ('samples' weighting) or per report ('uniform'). */
        coefficient: Map<number, number>;
        reported: Set<number>;
        aggregator: RoundAggregator;
        /** The same aggregator with DP: the wrapper that releases the noised round. */
        dp: DpRoundAggregator | undefined;
        rejected: Record<RejectReason, number>;
        capped: number;
        opensAt: number;
      }
    | undefined;

  constructor(readonly options: ServerOptions) {
    requiredObject('options', options);
    this.params = Float32Array.from(float32Array('options.params', options.params));
    const activity = numberArray('options.activity', options.activity, 'an array of sample counts', 'transferred');
    this.#activity = Array.from(activity);
    requiredObject('options.selection', options.selection);
    if (options.dp !== undefined) requiredObject('options.dp', options.dp);
    if (options.deadline !== undefined) nonNegativeFinite('options.deadline', options.deadline);
    oneOf('options.estimator', options.estimator, ['unbiased', 'self-normalized'], 'unbiased');
    this.optimizer = createServerOptimizer(options.optimizer ?? 'fedavg', options.optimizerOptions);
    const seed = options.seed;
    if (seed !== undefined && !Number.isSafeInteger(seed)) {
      throw invalidArgument('seed', 'a safe integer or undefined', seed);
    }
    // Amplification by sampling needs a random sample secret from the adversary: only a seed the
    // caller chose on purpose makes it reproducible (Random, xoshiro, is not for privacy).
    this.#rng = seed === undefined ? new SecureRandom() : new Random(seed);
    const cap = options.maxSamples ?? 'activity';
    if (cap !== 'activity' && !(typeof cap === 'number' && cap >= 0 && Number.isFinite(cap))) {
      throw invalidArgument('maxSamples', "'activity' or a non-negative finite number", cap);
    }
    const stats = options.statistics ?? 'exact';
    if (stats !== 'exact' && stats !== 'withheld') throw invalidArgument('statistics', "'exact' or 'withheld'", stats);
    const min = options.minReports ?? 1;
    if (!Number.isSafeInteger(min) || min < 1) throw invalidArgument('minReports', 'a positive integer', min);
    if (options.dp && min !== 1)
      throw invalidArgument('minReports', '1 with DP (a DP round always releases a noised update)', min);
    if (options.dp) {
      if (options.normBound !== undefined)
        throw invalidArgument('normBound', 'unset with DP (DP-FedAvg clips to dp.clipNorm)', options.normBound);
      const m = options.selection.method;
      if (m !== 'uniform' && m !== 'poisson')
        throw invalidArgument('selection.method', "'uniform' or 'poisson' with DP", m);
      this.dp = new DpFedAvg(this.#activity, options.selection.perRound, m, options.dp, options.aggregation ?? 'mean');
    }
  }

  get round(): number {
    return this.#round;
  }

  /** Whether selection or DP noise is reproducible from a seed (experiments only). */
  get seeded(): boolean {
    return this.options.seed !== undefined || (this.dp !== undefined && this.options.dp?.noiseSeed !== undefined);
  }

  /** Updates the population's activity (continual setting: what each device stores now). */
  setActivity(activity: number[]): void {
    numberArray('activity', activity, 'an array of sample counts', 'transferred');
    if (activity.length !== this.#activity.length)
      throw invalidArgument('activity.length', `${this.#activity.length}`, activity.length);
    this.#activity = [...activity];
  }

  /** Whether a round is open (between beginRound and endRound). */
  get isOpen(): boolean {
    return this.#open !== undefined;
  }

  /**
   * The server's state (copies), for a checkpoint; see ServerSnapshot. Taken while a round is open
   * it is the state that round opened from, with the RNG after its draw: restore it and reopen the
   * round with its stored selection (beginRound) to resume it as it was.
   */
  snapshot(): ServerSnapshot {
    return {
      round: this.#round,
      params: Float32Array.from(this.params),
      activity: [...this.#activity],
      rng: [...this.#rng.getState()],
      optimizer: this.optimizer.getState(),
      ...(this.dp ? { dp: this.dp.getState() } : {}),
    };
  }

  /**
   * Puts a snapshot of an identically configured server back (between rounds). A seeded selection
   * continues where it stopped; with the OS CSPRNG the rng words are ignored.
   */
  restore(snapshot: ServerSnapshot): void {
    requiredObject('snapshot', snapshot);
    if (this.#open) throw invalidArgument('round', 'closed to restore a snapshot', this.#round);
    const round = snapshot.round;
    if (!Number.isSafeInteger(round) || round < 0)
      throw invalidArgument('snapshot.round', 'a non-negative integer', round);
    const params = float32Array('snapshot.params', snapshot.params);
    if (params.length !== this.params.length)
      throw invalidArgument('snapshot.params.length', `${this.params.length}`, params.length);
    if ((snapshot.dp === undefined) !== (this.dp === undefined))
      throw invalidArgument('snapshot.dp', this.dp ? 'present (the server runs DP-FedAvg)' : 'absent', snapshot.dp);
    // Everything is checked before anything changes.
    const before = this.optimizer.getState();
    this.optimizer.setState(snapshot.optimizer, params.length);
    try {
      this.setActivity(snapshot.activity);
      if (this.options.seed !== undefined) this.#rng.setState(snapshot.rng);
      if (this.dp && snapshot.dp) this.dp.setState(snapshot.dp);
    } catch (error) {
      this.optimizer.setState(before, params.length);
      throw error;
    }
    this.params.set(params);
    this.#round = round;
  }

  /**
   * Opens the next round: selects clients. now: seconds (simulated or wall clock). selection: the
   * stored plan of a round that was open when a transport's process stopped (reopened as it was,
   * nothing drawn); the transport then replays the round's stored reports through submit, in order.
   */
  beginRound(now = performance.now() / 1000, selection?: Selection): RoundPlan {
    finiteNumber('now', now);
    if (this.#open) throw invalidArgument('round', 'closed (call endRound first)', this.#round);
    // A DP round the budget cannot pay for is refused before any client trains (BudgetExceededError).
    if (this.dp) this.dp.accountant.checkStep(this.dp.event);
    if (selection !== undefined) checkStoredSelection(selection, this.#activity.length);
    selection ??= selectClients(this.#activity, this.options.selection, this.#rng);
    const plan = { round: this.#round, clients: selection.clients, params: this.params, selection };
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
    // With DP the rule itself clips to the round's S (its norm bound) and the DP wrapper goes around it.
    const normBound = this.dp ? this.dp.clipNorm : this.options.normBound;
    const inner = createRoundAggregator(this.options.aggregation ?? 'mean', this.params.length, {
      ...(this.options.trim !== undefined ? { trim: this.options.trim } : {}),
      ...(this.options.byzantine !== undefined ? { byzantine: this.options.byzantine } : {}),
      ...(normBound !== undefined ? { normBound } : {}),
    });
    const dp = this.dp ? new DpRoundAggregator(inner, this.dp, this.params.length) : undefined;
    this.#open = {
      plan,
      selection,
      coefficient,
      reported: new Set(),
      aggregator: dp ?? inner,
      dp,
      rejected: emptyRejected(),
      capped: 0,
      opensAt: now,
    };
    return plan;
  }

  /**
   * Takes one client report; returns 'accepted' or the rule that rejected it. The update array is
   * read once (copied into the round's aggregator), never modified and never kept: the caller may
   * reuse it as soon as submit returns.
   */
  submit(report: ClientReport, now = performance.now() / 1000): 'accepted' | RejectReason {
    const r = this.#open;
    if (!r) throw invalidArgument('round', 'open (call beginRound first)', this.#round);
    if (typeof report !== 'object' || report === null) throw invalidType('report', 'a client report object', report);
    finiteNumber('now', now);
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
    // The array's own tag, not instanceof: a Proxy or a spoofed prototype is not a Float32Array.
    if (typedArrayKind(u) !== 'Float32Array') return reject('wrongType');
    if (u.length !== this.params.length) return reject('wrongLength');
    const claimed = report.samples;
    if (typeof claimed !== 'number' || !Number.isSafeInteger(claimed) || claimed < 0) return reject('badWeight');
    // The copy is what gets measured, clipped and summed; the caller's array is not read again.
    const norm = r.aggregator.stage(u);
    if (Number.isNaN(norm)) return reject('nonFinite');
    if (norm === Infinity) return reject('normOverflow');
    const cap = this.options.maxSamples ?? 'activity';
    const n = Math.min(claimed, cap === 'activity' ? this.#activity[report.client]! : cap);
    if (n < claimed) r.capped += 1;
    if (this.dp) {
      r.aggregator.commit(this.dp.userWeight(n)); // DP-FedAvg's user weight; the rule clips to S
    } else {
      const c = r.coefficient.get(report.client)!;
      r.aggregator.commit((this.options.selection.weighting ?? 'samples') === 'samples' ? c * n : c);
    }
    return 'accepted';
  }

  /**
   * Takes the result of a securely aggregated round (SecAgg+, src/fl/net/secagg-coordinator.ts):
   * the decoded sum of the updates of `clients`, each clipped to `clipNorm` by its client before
   * masking. The server never sees one update, so nothing per update can be checked or re-clipped
   * here: the sum goes into the round's own aggregator as `clients.length` reports.
   * Valid for aggregation 'mean' with either
   * - no DP and selection weighting 'uniform' (every selected client's coefficient equal; with a
   *   normBound, clipNorm ≤ normBound), or
   * - DP-FedAvg with user weight 1 (no weightCap) and clipNorm ≤ the round's S: the "trusted
   *   server adds noise" setting. The server learns the exact sum and adds the Gaussian noise
   *   after unmasking (endRound), so ε holds against everyone who sees the released model, not
   *   against the server itself. `unclipped` is the (securely summed) count of updates that
   *   needed no clipping; adaptive clipping requires it, without it the round omits `clipped`.
   * Throws (the transport's error, not a client's): clients not selected or already reported.
   */
  submitSecureSum(input: { clients: number[]; sum: Float32Array; clipNorm: number; unclipped?: number }): void {
    const r = this.#open;
    if (!r) throw invalidArgument('round', 'open (call beginRound first)', this.#round);
    requiredObject('input', input);
    const { clients, sum, clipNorm, unclipped } = input;
    if ((this.options.aggregation ?? 'mean') !== 'mean')
      throw invalidArgument('aggregation', "'mean' with secure aggregation", this.options.aggregation);
    if (!Array.isArray(clients) || clients.length === 0)
      throw invalidType('input.clients', 'a non-empty array of client ids', clients);
    if (new Set(clients).size !== clients.length) throw invalidArgument('input.clients', 'distinct ids', clients);
    for (const k of clients) {
      if (!r.coefficient.has(k)) throw invalidArgument('input.clients', 'clients selected this round', k);
      if (r.reported.has(k)) throw invalidArgument('input.clients', 'clients that have not reported yet', k);
    }
    const s = float32Array('input.sum', sum);
    if (s.length !== this.params.length)
      throw invalidArgument('input.sum.length', `the model's dimension (${this.params.length})`, s.length);
    positiveFinite('input.clipNorm', clipNorm);
    if (this.dp) {
      if (this.options.dp?.weightCap !== undefined)
        throw invalidArgument(
          'dp.weightCap',
          'unset with secure aggregation (every user weighs 1)',
          this.options.dp.weightCap,
        );
      if (!(clipNorm <= this.dp.clipNorm))
        throw invalidArgument('input.clipNorm', `at most the round's clipNorm (${this.dp.clipNorm})`, clipNorm);
      if (this.options.dp?.adaptiveClip && unclipped === undefined)
        throw invalidArgument('input.unclipped', 'given with adaptive clipping', unclipped);
      for (const k of clients) r.reported.add(k);
      r.dp!.addSum(s, clients.length, 1, unclipped);
      return;
    }
    if ((this.options.selection.weighting ?? 'samples') !== 'uniform')
      throw invalidArgument(
        'selection.weighting',
        "'uniform' with secure aggregation",
        this.options.selection.weighting,
      );
    const c = r.coefficient.get(clients[0]!)!;
    for (const k of clients)
      if (Math.abs(r.coefficient.get(k)! - c) > 1e-12 * Math.abs(c))
        throw invalidArgument('selection', 'equal coefficients for every client of a secure sum', r.coefficient.get(k));
    const bound = this.options.normBound;
    if (bound !== undefined && !(clipNorm <= bound))
      throw invalidArgument('input.clipNorm', `at most normBound (${bound})`, clipNorm);
    for (const k of clients) r.reported.add(k);
    r.aggregator.addSum(s, clients.length, c);
  }

  /**
   * Closes the round: aggregates, applies DP and the server optimizer, reports. All or nothing: a
   * round whose aggregate or next model is not finite changes nothing (reason 'nonFinite').
   */
  async endRound(): Promise<RoundReport> {
    const r = this.#open;
    if (!r) throw invalidArgument('round', 'open (call beginRound first)', this.#round);
    this.#open = undefined;
    this.#round += 1;
    const accepted = r.aggregator.count;
    const exact = (this.options.statistics ?? 'exact') === 'exact';
    const report: RoundReport = { round: r.plan.round, seeded: this.seeded, applied: false };
    if (exact) {
      Object.assign(report, {
        selected: r.selection.clients.length,
        accepted,
        dropped: r.selection.clients.filter((k) => !r.reported.has(k)).length,
        rejected: r.rejected,
        samplesCapped: r.capped,
      });
    }
    let delta: Float32Array | undefined;
    if (r.dp) {
      // Every DP round releases a noised update, even with no reports (DpRoundAggregator.release).
      const out = await r.dp.release();
      Object.assign(report, { clipNorm: out.clipNorm, epsilon: out.epsilon, delta: r.dp.dp.delta });
      if (exact && !r.dp.unknownClipped) report.clipped = out.clipped;
      if (!out.finite) return { ...report, reason: 'nonFinite' };
      delta = out.delta;
    } else {
      if (accepted < (this.options.minReports ?? 1)) return { ...report, reason: 'minReports' };
      const normalize = r.selection.normalize || this.options.estimator === 'self-normalized';
      const result = await settledResult(r.aggregator, normalize);
      if (result === null) return { ...report, reason: 'nonFinite' };
      delta = result;
    }
    if (!delta) return report;
    const deltaNorm = perSampleNorms(delta, 1)[0]!; // the native norm kernel, one row
    if (!this.optimizer.step(this.params, delta)) return { ...report, reason: 'nonFinite' };
    return { ...report, applied: true, deltaNorm };
  }
}
