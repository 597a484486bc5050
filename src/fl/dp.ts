// DP-FedAvg with user-level privacy: McMahan, Ramage, Talwar and Zhang, "Learning Differentially
// Private Recurrent Language Models", ICLR 2018 (Algorithm 1, the fixed-denominator estimator f̃_f),
// with adaptive clipping from Andrew, Thakkar, McMahan and Ramaswamy, "Differentially Private
// Learning with Adaptive Clipping", NeurIPS 2021.
//
// Per round, with M clients, K selected (q = K/M), user weights w_k = min(n_k / ŵ, 1) (w_k = 1
// without a cap ŵ) and W = Σ_{all k} w_k:
//   Δ_k ← Δ_k · min(1, S / ‖Δ_k‖)                    (clip each client update to norm S)
//   Δ   = (Σ_{k∈S} w_k Δ_k + N(0, σ² I)) / (q W),    σ = z_Δ · S
// The denominator q·W is fixed (it does not depend on who was sampled), so one user changes the
// numerator by at most S (add/remove) or 2S (replace-one) and nothing else: the sensitivity stays
// bounded whatever the weighting by activity, because w_k ≤ 1.
//
// Adaptive clipping (Andrew et al., Algorithm 1 with the geometric update; the one implementation
// DP-SGD uses too, dpsgd/adaptive-clipping.ts): each selected client also reports
// b_k = 1[‖Δ_k‖ ≤ S]; the server forms b̃ = (Σ (b_k − ½) + N(0, σ_b²)) / K + ½ and sets
// S ← S · exp(−η_C (b̃ − γ)), so S tracks the γ-quantile of update norms. Defaults γ = 0.5,
// η_C = 0.2, σ_b = K / 20 (the paper's). The noise on the sum is raised so the pair of releases
// is as private as one Gaussian mechanism of multiplier z (their Theorem 1):
//   z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2),  which needs σ_b > z / 2.
//
// Accounting: one event per round, for the whole (sum, count) release of multiplier z:
//   selection 'poisson' (each client independently with probability q, add/remove-one users):
//     poissonSampledGaussian({ noiseMultiplier: z, sampleRate: q })
//   selection 'uniform' (exactly K of M without replacement, replace-one users; sensitivity 2S, so
//     the multiplier relative to it is z/2):
//     sampledWithoutReplacementGaussian({ noiseMultiplier: z / 2, sampleSize: K, datasetSize: M })
//
// Any aggregation rule (the wrapper, fl/dp-aggregator.ts, as Flower's DP strategies wrap any
// strategy): with a robust rule (median, trimmed mean, Krum, multi-Krum, Bulyan) each update is
// clipped to S as for the mean, the rule runs on the clipped updates, and its output A is projected
// onto the ball of radius S. Whatever the rule does, two such outputs are at most 2S apart, so one
// user — added, removed or replaced — moves the release by at most 2S (Guerraoui, Gupta, Pinot,
// Rouault and Stephan, "Differential Privacy and Byzantine Resilience in SGD: Do They Add Up?",
// PODC 2021, make the same argument and show what it costs). The release is
//   Δ = Proj_S(A) + N(0, (z_Δ · 2S)² I)          (no denominator: A is already an average)
// whose multiplier relative to its sensitivity is z_Δ under both neighbourings. Poisson keeps the
// event above (the count's add/remove sensitivity is ½ as before, so Theorem 1 splits z the same
// way); uniform charges the replace-one multiplier: z without adaptive clipping, and
// (z_Δ⁻² + σ_b⁻²)^(−1/2) with it (the count's sensitivity doubles to 1, the output's stays 2S).
// Its noise std z_Δ·2S is 2·q·W times the mean's z_Δ·S / (q·W) (≈ 2K with unit weights): DP with a
// robust rule pays for the robustness in noise, and needs large cohorts or few rounds to learn.
// User weights (weightCap) need the weighted mean and are refused with robust rules.
// Activity-based or top-K selection is refused with DP: their inclusion probabilities depend on
// the users' data sizes and no accountant here covers non-uniform sampling.
import {
  Accountant,
  calibrate,
  poissonSampledGaussian,
  selfComposed,
  sampledWithoutReplacementGaussian,
  type AccountantKind,
  type AccountantState,
  type DpEvent,
} from '../accounting/index.js';
import { invalidArgument, invalidType } from '../errors.js';
import { clipByNorm } from '../kernels/clip.js';
import { addGaussianNoise } from '../kernels/noise.js';
import { AGGREGATION_RULES, type AggregationRule } from './aggregation.js';
import {
  float32Array,
  nonNegativeFinite,
  numberArray,
  oneOf,
  openUnitInterval,
  positiveFinite,
  positiveInteger,
  requiredObject,
} from '../validate.js';
import {
  adaptiveClipping,
  countNoiseStd,
  nextClipNorm,
  sumNoiseMultiplier,
  type AdaptiveClipping,
  type AdaptiveClippingOptions,
} from '../dpsgd/adaptive-clipping.js';

/** Adaptive clipping's options: the same names as DP-SGD's { kind: 'adaptive', ... } (σ_b default perRound / 20). */
export type AdaptiveClipOptions = AdaptiveClippingOptions;

/** What to raise when σ_b is too small for z (Theorem 1 needs σ_b > z/2). */
const COUNT_NOISE_HINT = 'perRound or countNoise';

export interface DpFedAvgOptions {
  /** Noise multiplier z (of the whole round's release). Or give targetEpsilon and rounds. */
  noiseMultiplier?: number;
  /**
   * Target ε at `delta` for `rounds` rounds: z is calibrated (accounting's `calibrate`, the one
   * calibration DP-SGD and the audit use) to the smallest that meets it, and the accountant gets
   * the budget { targetEpsilon, delta }: a round past it is refused (BudgetExceededError).
   */
  targetEpsilon?: number;
  /** The planned number of rounds, with targetEpsilon. */
  rounds?: number;
  /** Clipping norm S (the initial S with adaptive clipping). */
  clipNorm: number;
  /** Adaptive clipping (Andrew et al. 2021); false or undefined: fixed S. */
  adaptiveClip?: AdaptiveClipOptions | boolean;
  /** Weight cap ŵ: w_k = min(n_k / ŵ, 1). Undefined: every user weighs 1. */
  weightCap?: number;
  delta: number;
  accountant?: AccountantKind;
  /** Reproducible noise (experiments only: a known seed gives no privacy). Undefined: secure noise. */
  noiseSeed?: bigint;
}

/** DpFedAvg's checkpoint (JSON-serialisable). */
export interface DpFedAvgState {
  clipNorm: number;
  round: number;
  accountant: AccountantState;
}

export interface DpRoundResult {
  /** The noised, fixed-denominator mean update. */
  delta: Float32Array;
  /** S used this round, and S for the next round. */
  clipNorm: number;
  nextClipNorm: number;
  /** Reports whose norm exceeded S. */
  clipped: number;
  epsilon: number;
}

export class DpFedAvg {
  readonly noiseMultiplier: number;
  readonly accountant: Accountant;
  readonly event: DpEvent;
  readonly sumNoiseMultiplier: number;
  readonly delta: number;
  /** A robust rule (median, trimmed mean, Krum...): its output is projected onto the S-ball and noised at 2S. */
  readonly robust: boolean;
  #clip: number;
  readonly #adaptive: AdaptiveClipping | undefined;
  readonly #denominator: number;
  #round = 0;

  constructor(
    readonly population: number[],
    readonly perRound: number,
    readonly sampling: 'uniform' | 'poisson',
    readonly options: DpFedAvgOptions,
    readonly aggregation: AggregationRule = 'mean',
  ) {
    numberArray('population', population, 'an array of sample counts', 'transferred').forEach((n, k) =>
      nonNegativeFinite(`population[${k}]`, n),
    );
    requiredObject('options', options);
    positiveFinite('clipNorm', options.clipNorm);
    openUnitInterval('delta', options.delta);
    if (options.noiseSeed !== undefined && typeof options.noiseSeed !== 'bigint') {
      throw invalidType('noiseSeed', 'a bigint or undefined', options.noiseSeed);
    }
    if (sampling !== 'uniform' && sampling !== 'poisson') {
      const expected = "'uniform' or 'poisson' with DP (activity-based sampling is not covered by the accountant)";
      throw invalidArgument('selection', expected, sampling);
    }
    this.robust = oneOf('aggregation', aggregation, AGGREGATION_RULES, 'mean') !== 'mean';
    const m = population.length;
    if (!Number.isSafeInteger(perRound) || perRound < 1 || perRound > m) {
      throw invalidArgument('perRound', `an integer in [1, ${m}]`, perRound);
    }
    this.delta = options.delta;
    this.#clip = options.clipNorm;
    const cap = options.weightCap;
    if (cap !== undefined) {
      positiveFinite('weightCap', cap);
      if (this.robust) throw invalidArgument('weightCap', `unset with the unweighted rule '${aggregation}'`, cap);
    }
    const q = perRound / m;
    const totalWeight = population.reduce((s, n) => s + this.userWeight(n), 0);
    if (!(totalWeight > 0)) throw invalidArgument('population', 'of positive total weight', totalWeight);
    this.#denominator = q * totalWeight;
    const a = options.adaptiveClip;
    this.#adaptive = a === undefined || a === false ? undefined : adaptiveClipping('adaptiveClip', a === true ? {} : a);
    const sigmaB = this.#adaptive === undefined ? undefined : countNoiseStd(this.#adaptive, perRound);
    // The round's event at multiplier z (with adaptive clipping: the (sum, count) pair, Theorem 1).
    const eventOf = (z: number): DpEvent =>
      sampling === 'poisson'
        ? poissonSampledGaussian({ noiseMultiplier: z, sampleRate: q })
        : sampledWithoutReplacementGaussian({
            noiseMultiplier: replaceOneMultiplier(z, sigmaB, this.robust),
            sampleSize: perRound,
            datasetSize: m,
          });
    const kind = options.accountant ?? 'rdp';
    const plan = this.#noisePlan(options, eventOf, kind);
    const z = plan.noiseMultiplier;
    this.noiseMultiplier = z;
    // With adaptive clipping the sum's z_Δ and the count's σ_b together cost exactly z (Theorem 1).
    this.sumNoiseMultiplier =
      sigmaB === undefined ? z : sumNoiseMultiplier(z, sigmaB, 'adaptiveClip', COUNT_NOISE_HINT);
    this.event = eventOf(z);
    this.accountant = new Accountant({ accountant: kind, ...(plan.budget ? { budget: plan.budget } : {}) });
    // The guard is the accountant's: the calibrated plan is proven once, later rounds are checked against it.
    if (plan.budget) this.accountant.certify([{ event: this.event, count: plan.rounds }]);
  }

  /** z as given, or calibrated to targetEpsilon over the planned rounds (with the budget to guard). */
  #noisePlan(
    options: DpFedAvgOptions,
    eventOf: (z: number) => DpEvent,
    accountant: AccountantKind,
  ): { noiseMultiplier: number; budget?: { epsilon: number; delta: number }; rounds: number } {
    if (options.targetEpsilon === undefined) {
      if (options.rounds !== undefined)
        throw invalidArgument('rounds', 'given only with targetEpsilon', options.rounds);
      return { noiseMultiplier: positiveFinite('noiseMultiplier', options.noiseMultiplier), rounds: 0 };
    }
    if (options.noiseMultiplier !== undefined) {
      throw invalidArgument('noiseMultiplier', 'absent when targetEpsilon is given', options.noiseMultiplier);
    }
    const epsilon = positiveFinite('targetEpsilon', options.targetEpsilon);
    const rounds = positiveInteger('rounds', options.rounds);
    const { noiseMultiplier } = calibrate({
      eventOf: (z) => selfComposed(eventOf(z), rounds),
      targetEpsilon: epsilon,
      delta: options.delta,
      accountant,
    });
    return { noiseMultiplier, budget: { epsilon, delta: options.delta }, rounds };
  }

  /** w_k = min(n_k / ŵ, 1), or 1 without a cap. */
  userWeight(samples: number): number {
    const cap = this.options.weightCap;
    return cap === undefined ? 1 : Math.min(nonNegativeFinite('samples', samples) / cap, 1);
  }

  /**
   * What a checkpoint needs to resume bit-identically: S (adaptive clipping moves it), the rounds
   * released (the seeded noise's stream) and the accountant's ledger (the privacy already spent).
   */
  getState(): DpFedAvgState {
    return { clipNorm: this.#clip, round: this.#round, accountant: this.accountant.toJSON() };
  }

  /**
   * Restores getState() output into this (identically configured) DpFedAvg: the ledger replaces
   * the accountant's (same kind required), so a resumed run neither forgets nor double-counts ε.
   */
  setState(state: DpFedAvgState): void {
    requiredObject('state', state);
    const clip = positiveFinite('state.clipNorm', state.clipNorm);
    const round = nonNegativeFinite('state.round', state.round);
    if (!Number.isSafeInteger(round)) throw invalidArgument('state.round', 'a non-negative integer', round);
    const restored = Accountant.fromJSON(state.accountant);
    if (restored.accountant !== this.accountant.accountant)
      throw invalidArgument('state.accountant.accountant', `"${this.accountant.accountant}"`, restored.accountant);
    this.accountant.restore(restored.history);
    this.#clip = clip;
    this.#round = round;
  }

  /** The clipping norm S of the current round. */
  get clipNorm(): number {
    return this.#clip;
  }

  /**
   * Finishes the round from the rule's output on the clipped updates — for the mean the weighted
   * sum Σ w_k clip(Δ_k), for a robust rule its output (zeros when it had nothing to aggregate) —
   * and the number of reports whose norm was at most S: adds noise (the mean: divides by the fixed
   * denominator; a robust rule: projects onto the S-ball first), updates S, accounts.
   */
  finish(aggregate: Float32Array, unclipped: number, reports: number): DpRoundResult {
    float32Array('aggregate', aggregate, false);
    nonNegativeFinite('reports', reports);
    if (!(nonNegativeFinite('unclipped', unclipped) <= reports)) {
      throw invalidArgument('unclipped', `at most reports (${reports})`, unclipped);
    }
    // Charged first: a round the budget guard refuses (BudgetExceededError) changes nothing.
    this.accountant.step(this.event);
    const s = this.#clip;
    const seed = this.options.noiseSeed;
    const noise = seed === undefined ? {} : { seed, stream: BigInt(2 * this.#round) };
    if (this.robust) {
      if (aggregate.length > 0) clipByNorm(aggregate, s);
      addGaussianNoise(aggregate, this.sumNoiseMultiplier * 2 * s, noise);
    } else {
      addGaussianNoise(aggregate, this.sumNoiseMultiplier * s, noise);
      const inv = 1 / this.#denominator;
      for (let i = 0; i < aggregate.length; i++) aggregate[i] = aggregate[i]! * inv;
    }
    if (this.#adaptive) {
      const countNoise = seed === undefined ? {} : { seed, stream: BigInt(2 * this.#round + 1) };
      this.#clip = nextClipNorm(s, unclipped, reports, this.perRound, this.#adaptive, countNoise);
    }
    this.#round += 1;
    const epsilon = this.accountant.epsilon(this.delta);
    return { delta: aggregate, clipNorm: s, nextClipNorm: this.#clip, clipped: reports - unclipped, epsilon };
  }
}

/**
 * The multiplier a uniform (replace-one) round charges, given the multiplier z of the add/remove
 * analysis: the mean's sum and count sensitivities both double (z/2); a robust output's stays 2S,
 * so without adaptive clipping it is z, and with it only the count's sensitivity doubles.
 */
function replaceOneMultiplier(z: number, sigmaB: number | undefined, robust: boolean): number {
  if (!robust) return z / 2;
  // (z_Δ⁻² + σ_b⁻²)^(−1/2) with z_Δ⁻² = z⁻² − (2σ_b)⁻²: the output's ratio z_Δ, the count's σ_b.
  return sigmaB === undefined ? z : (z ** -2 + 0.75 * sigmaB ** -2) ** -0.5;
}
