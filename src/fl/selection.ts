// Device selection for a round, each method paired with the aggregation coefficients that make
// the aggregate an unbiased estimator of the full-participation target
//
//     θ = Σ_{k=1..M} a_k u_k,   a_k = n_k / N (weighting 'samples', N = Σ n_k) or 1 / M ('uniform'),
//
// i.e. E[Σ_{k∈S} c_k u_k] = θ over the randomness of the selection S (Särndal, Swensson and
// Wretman, "Model Assisted Survey Sampling", 1992, ch. 2-3):
//
// - 'uniform': simple random sample of K of M clients without replacement. Inclusion probability
//   π_k = K / M; Horvitz–Thompson coefficients c_k = a_k / π_k.
// - 'poisson': each client independently with probability q = K / M (expected K; the sampling
//   DP-FedAvg's accounting assumes, McMahan et al. 2018). c_k = a_k / q (Horvitz–Thompson).
// - 'activity' without replacement: inclusion probabilities proportional to activity,
//   π_k = min(1, c·n_k^p) with c chosen so Σ π_k = K (clients whose share would exceed 1 are
//   taken with certainty and the rest rescaled), drawn by randomised systematic PPS sampling
//   (Madow 1949; Goodman and Kish 1950): a random order, cumulative π, points u, u+1, …, u+K−1
//   with u ~ U[0, 1). Exactly K distinct clients and exactly these π_k; Horvitz–Thompson
//   coefficients c_k = a_k / π_k. (With p = 1 and weighting 'samples', c_k = 1 / (c·N): the plain
//   uniform average of the selected updates, the "sample ∝ size, then average uniformly" scheme
//   of Li et al., FedProx, MLSys 2020, here without replacement.)
// - 'activity' with replacement: K independent draws with p_k = n_k^p / Σ_j n_j^p; the
//   Hansen–Hurwitz estimator (Hansen and Hurwitz 1943) θ̂ = (1/K) Σ_draws a_k u_k / p_k, so a
//   client drawn m_k times gets c_k = m_k a_k / (K p_k) (it trains once; its update counts m_k
//   times). With p = 1 and 'samples' weighting this is FedProx's scheme exactly: c_k = m_k / K.
// - 'top': the K most active clients (ties by index), deterministic; coefficients a_k renormalised
//   over the selection. BIASED towards active clients (documented, not an estimator of θ).
//
// Unbiasedness needs π_k > 0 for every client with a_k > 0: a client with no data (n_k = 0) is
// never selected by 'activity' and contributes nothing under 'samples' weighting. Every method
// needs at least K clients with n_k > 0 ('uniform' and 'poisson' need only K ≤ M).
import { invalidArgument, invalidType } from '../errors.js';
import {
  nonNegativeFinite,
  numberArray,
  optionalBoolean,
  positiveInteger,
  requiredObject,
  withMethods,
} from '../validate.js';
import type { RandomSource } from '../data/random.js';

export type SelectionMethod = 'uniform' | 'poisson' | 'activity' | 'top';
export type Weighting = 'samples' | 'uniform';

export interface SelectionOptions {
  method: SelectionMethod;
  /** Clients per round K (the expected number for 'poisson'). */
  perRound: number;
  /** Exponent p of the activity: selection ∝ n_k^p ('activity' only). Default 1. */
  power?: number;
  /** Draw with replacement ('activity' only). Default false. */
  replacement?: boolean;
  /** The target's weights a_k: by samples n_k / N (default) or uniform 1 / M. */
  weighting?: Weighting;
}

export interface Selection {
  /** Distinct selected client indices, ascending. */
  clients: number[];
  /** Aggregation coefficient c_k of each selected client (same order). */
  coefficients: number[];
  /** Times each client was drawn (1 unless with replacement). */
  multiplicity: number[];
  /** Inclusion probability π_k of each selected client (expected draws K·p_k with replacement). */
  inclusion: number[];
  /** True for 'top': divide by Σ c_k (a ratio, biased). False: Σ c_k u_k is unbiased for θ. */
  normalize: boolean;
}

function checkActivity(activity: ArrayLike<number>): Float64Array {
  if (!Array.isArray(activity) && !ArrayBuffer.isView(activity))
    throw invalidType('activity', 'an array of sample counts', activity);
  const n = numberArray('activity', activity, 'an array of sample counts', 'transferred');
  n.forEach((v, k) => {
    if (!(v >= 0) || !Number.isFinite(v)) throw invalidArgument(`activity[${k}]`, 'a non-negative finite number', v);
  });
  if (n.length === 0) throw invalidArgument('activity.length', 'positive', 0);
  return n;
}

/** Target weights a_k. */
export function targetWeights(n: Float64Array, weighting: Weighting): Float64Array {
  if (weighting === 'uniform') return new Float64Array(n.length).fill(1 / n.length);
  const total = n.reduce((s, v) => s + v, 0);
  if (!(total > 0)) throw invalidArgument('activity', 'of positive sum for weighting by samples', total);
  return n.map((v) => v / total);
}

/** π_k = min(1, c·x_k) with Σ π_k = K (certainty units capped at 1, the rest rescaled). */
export function ppsInclusion(x: Float64Array, k: number): Float64Array {
  const checked = numberArray('x', x, 'an array of non-negative sizes', 'transferred');
  checked.forEach((v, i) => nonNegativeFinite(`x[${i}]`, v));
  return inclusion(checked, positiveInteger('k', k));
}

/** ppsInclusion without the checks (selectClients checks its own arguments). */
function inclusion(x: Float64Array, k: number): Float64Array {
  const positive = x.reduce((s, v) => s + (v > 0 ? 1 : 0), 0);
  if (k > positive)
    throw invalidArgument('perRound', `at most the number of clients with activity > 0 (${positive})`, k);
  const pi = new Float64Array(x.length);
  const capped = new Uint8Array(x.length);
  for (;;) {
    let free = 0;
    let rest = k;
    x.forEach((v, i) => {
      if (capped[i]) rest -= 1;
      else free += v;
    });
    let changed = false;
    x.forEach((v, i) => {
      if (capped[i]) return;
      pi[i] = (rest * v) / free;
      if (pi[i]! >= 1) {
        capped[i] = 1;
        pi[i] = 1;
        changed = true;
      }
    });
    if (!changed) return pi;
    capped.forEach((c, i) => {
      if (c) pi[i] = 1;
    });
  }
}

function systematic(pi: Float64Array, k: number, rng: RandomSource): number[] {
  const order = Array.from({ length: pi.length }, (_, i) => i);
  rng.shuffle(order);
  const u = rng.next();
  const chosen: number[] = [];
  let cum = 0;
  let next = u; // the next point u + j
  for (let j = 0; j < order.length && chosen.length < k; j++) {
    const i = order[j]!;
    cum += pi[i]!;
    // Rounding can leave Σπ a hair under K: the last unit in the order closes the interval.
    if (next < cum || (j === order.length - 1 && pi[i]! > 0)) {
      chosen.push(i);
      next += 1;
    }
  }
  return chosen;
}

/** Selects this round's clients from their activity (sample counts n_k), drawing from rng. */
export function selectClients(activity: ArrayLike<number>, options: SelectionOptions, rng: RandomSource): Selection {
  const n = checkActivity(activity);
  requiredObject('options', options);
  // The seeded Random (experiments) or SecureRandom (the OS CSPRNG), which a DP server needs for
  // amplification by sampling to hold.
  withMethods('rng', rng, 'a RandomSource', 'next', 'below', 'shuffle', 'categorical');
  const m = n.length;
  const k = options.perRound;
  if (!Number.isSafeInteger(k) || k < 1 || k > m) throw invalidArgument('perRound', `an integer in [1, ${m}]`, k);
  const weighting = options.weighting ?? 'samples';
  if (weighting !== 'samples' && weighting !== 'uniform')
    throw invalidArgument('weighting', '"samples" or "uniform"', weighting);
  const a = targetWeights(n, weighting);
  const power = options.power === undefined ? 1 : nonNegativeFinite('power', options.power);
  const replacement = optionalBoolean('replacement', options.replacement, false);
  if (replacement && options.method !== 'activity')
    throw invalidArgument('replacement', "used with method 'activity' only", replacement);
  const build = (
    clients: number[],
    pi: (i: number) => number,
    coef: (i: number) => number,
    mult?: Map<number, number>,
  ): Selection => {
    clients.sort((x, y) => x - y);
    return {
      clients,
      coefficients: clients.map(coef),
      multiplicity: clients.map((i) => mult?.get(i) ?? 1),
      inclusion: clients.map(pi),
      normalize: false,
    };
  };
  switch (options.method) {
    case 'uniform': {
      const order = Array.from({ length: m }, (_, i) => i);
      // Partial Fisher–Yates: the first K positions are a uniform K-subset.
      for (let i = 0; i < k; i++) {
        const j = i + rng.below(m - i);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const pi = k / m;
      return build(
        order.slice(0, k),
        () => pi,
        (i) => a[i]! / pi,
      );
    }
    case 'poisson': {
      const q = k / m;
      const clients: number[] = [];
      for (let i = 0; i < m; i++) if (rng.next() < q) clients.push(i);
      return build(
        clients,
        () => q,
        (i) => a[i]! / q,
      );
    }
    case 'activity': {
      const x = n.map((v) => (v > 0 ? v ** power : 0));
      if (replacement) {
        const total = x.reduce((s, v) => s + v, 0);
        if (!(total > 0)) throw invalidArgument('activity', 'positive for some client', total);
        const mult = new Map<number, number>();
        for (let j = 0; j < k; j++) {
          const i = rng.categorical(x);
          mult.set(i, (mult.get(i) ?? 0) + 1);
        }
        const p = (i: number) => x[i]! / total;
        return build(
          [...mult.keys()],
          (i) => k * p(i),
          (i) => (mult.get(i)! * a[i]!) / (k * p(i)),
          mult,
        );
      }
      const pi = inclusion(x, k);
      return build(
        systematic(pi, k, rng),
        (i) => pi[i]!,
        (i) => a[i]! / pi[i]!,
      );
    }
    case 'top': {
      const order = Array.from({ length: m }, (_, i) => i).sort((x, y) => n[y]! - n[x]! || x - y);
      const chosen = order.slice(0, k);
      const sum = chosen.reduce((s, i) => s + a[i]!, 0);
      const sel = build(
        chosen,
        () => 1,
        (i) => (sum > 0 ? a[i]! / sum : 1 / k),
      );
      sel.normalize = true;
      return sel;
    }
    default:
      throw invalidArgument('method', '"uniform", "poisson", "activity" or "top"', options.method);
  }
}
