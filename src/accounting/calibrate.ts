// Calibration: the smallest noise multiplier that meets a target (ε, δ), and the largest number of
// steps a budget allows, for DP-SGD with Poisson sampling (rate q) and either accountant.
//
// Guarantees: the returned σ satisfies ε(σ) ≤ target under the chosen accountant (it is the upper
// end of the final bracket, which was evaluated), and σ ≤ (1 + tolerance)·σ* where σ* is the exact
// smallest such σ (the lower end of the bracket fails the target). maxSteps returns T with
// ε(T) ≤ target < ε(T + 1).

import { invalidArgument } from './errors.js';
import { poissonSampledGaussian, validateEvent, type DpEvent } from './events.js';
import { DEFAULT_PLD_DISCRETIZATION } from './pld-accountant.js';
import { ledgerMaxSteps, ledgerRdpEpsilon } from './rdp-accountant.js';
import { checkOrders, DEFAULT_RDP_ORDERS } from './rdp.js';
import { halfOpenUnitInterval, integerAtLeast, openUnitInterval, positiveNumber, requiredObject } from '../validate.js';
import {
  computeEpsilon,
  type AccountantKind,
  type EpsilonMethod,
  type EpsilonReport,
  type HistoryEntry,
} from './privacy-accountant.js';

export interface CalibrateOptions {
  /** Target ε (> 0). */
  epsilon: number;
  /** Target δ ∈ (0, 1). */
  delta: number;
  /** Poisson sampling rate q ∈ (0, 1]. */
  sampleRate: number;
  /** Number of steps T (integer ≥ 1). */
  steps: number;
  accountant?: AccountantKind;
  /** Relative tolerance on σ (default 1e-3). */
  tolerance?: number;
  orders?: readonly number[];
  discretization?: number;
}

export interface CalibrateResult {
  noiseMultiplier: number;
  /** ε(δ) at the returned σ (≤ the target). */
  epsilon: number;
  accountant: AccountantKind;
  /**
   * What produced `epsilon` (PLD: 'closed-form' at q = 1, or 'rdp' when that bound was smaller;
   * see computeEpsilon).
   */
  method: EpsilonMethod;
  /** Why `method` is not the accountant's own, when it is not. */
  fallback?: string;
  /** Number of ε evaluations the search used. */
  evaluations: number;
  tolerance: number;
}

type EpsilonOf = (sigma: number) => number;

/**
 * Smallest σ with f(σ) ≤ target to relative tolerance, f decreasing. Regula falsi (Illinois) on
 * log ε against log σ, falling back to bisection; returns the feasible end of the bracket.
 */
function searchSigma(
  f: EpsilonOf,
  target: number,
  tol: number,
  start: number,
  startBracket?: [number, number],
  name = 'epsilon',
) {
  const unreachable = () => invalidArgument(name, 'reachable with a noise multiplier below 1e8', target);
  let evaluations = 0;
  const ev = (s: number) => {
    evaluations++;
    return f(s);
  };
  let lo: number;
  let hi: number;
  let flo: number;
  let fhi: number;
  if (startBracket) {
    [lo, hi] = startBracket;
    flo = ev(lo);
    fhi = ev(hi);
    while (!(flo > target)) {
      if (lo < 1e-6) return { sigma: lo, epsilon: flo, evaluations, lo: undefined };
      hi = lo;
      fhi = flo;
      lo /= 1.5;
      flo = ev(lo);
    }
    while (!(fhi <= target)) {
      if (hi > 1e8) throw unreachable();
      lo = hi;
      flo = fhi;
      hi *= 1.5;
      fhi = ev(hi);
    }
  } else {
    const s = start;
    const fs = ev(s);
    if (fs <= target) {
      hi = s;
      fhi = fs;
      lo = s / 2;
      flo = ev(lo);
      while (flo <= target) {
        if (lo < 1e-6) return { sigma: lo, epsilon: flo, evaluations, lo: undefined };
        hi = lo;
        fhi = flo;
        lo /= 2;
        flo = ev(lo);
      }
    } else {
      lo = s;
      flo = fs;
      hi = s * 2;
      fhi = ev(hi);
      while (!(fhi <= target)) {
        if (hi > 1e8) throw unreachable();
        lo = hi;
        flo = fhi;
        hi *= 2;
        fhi = ev(hi);
      }
    }
  }
  const lt = Math.log(target);
  let side = 0;
  for (let k = 0; k < 100 && hi / lo - 1 > tol; k++) {
    let x: number;
    const a = Math.log(lo);
    const b = Math.log(hi);
    let ya = Math.log(flo) - lt; // > 0
    let yb = fhi > 0 ? Math.log(fhi) - lt : -Infinity; // ≤ 0
    if (side === -1) ya /= 2; // Illinois: halve the stale end
    if (side === 1) yb /= 2;
    if (Number.isFinite(ya) && Number.isFinite(yb) && ya - yb > 0) x = a + ((b - a) * ya) / (ya - yb);
    else x = 0.5 * (a + b);
    // Keep the next point well inside the bracket, and aim just above the root so the bracket shrinks from both sides.
    const width = b - a;
    x = Math.min(b - 0.02 * width, Math.max(a + 0.02 * width, x));
    if (hi / lo - 1 < 4 * tol) x = Math.min(x + 0.5 * tol, b - 0.25 * width);
    const s = Math.exp(x);
    const fs = ev(s);
    if (fs <= target) {
      hi = s;
      fhi = fs;
      side = -1; // the lo end is now stale
    } else {
      lo = s;
      flo = fs;
      side = 1; // the hi end is now stale
    }
  }
  return { sigma: hi, epsilon: fhi, evaluations, lo };
}

function dpsgdEvent(q: number, sigma: number): DpEvent {
  return poissonSampledGaussian({ noiseMultiplier: sigma, sampleRate: q });
}

/** The smallest noise multiplier σ with ε(δ) ≤ target for T steps of Poisson-sampled Gaussian at rate q. */
export function calibrateNoiseMultiplier(options: CalibrateOptions): CalibrateResult {
  requiredObject('options', options);
  const target = positiveNumber('epsilon', options.epsilon);
  const delta = openUnitInterval('delta', options.delta);
  const q = halfOpenUnitInterval('sampleRate', options.sampleRate);
  const steps = integerAtLeast('steps', options.steps, 1);
  const tol = options.tolerance === undefined ? 1e-3 : positiveNumber('tolerance', options.tolerance);
  if (tol > 0.5) throw invalidArgument('tolerance', 'at most 0.5', tol);
  const kind = options.accountant ?? 'rdp';
  if (kind !== 'rdp' && kind !== 'pld') throw invalidArgument('accountant', '"rdp" or "pld"', kind);
  // A start from the CLT approximation of the subsampled Gaussian (μ ≈ q·sqrt(T)/σ, Dong, Roth and Su 2019):
  // with ε ≈ μ·sqrt(2 log(1/δ)) this gives σ ≈ q·sqrt(2T·log(1/δ))/ε, clamped to a sane range.
  const start = Math.min(1e3, Math.max(0.3, (q * Math.sqrt(2 * steps * Math.log(1 / delta))) / target));
  const history = (s: number) => [{ event: dpsgdEvent(q, s), count: steps }];
  const r = searchHistory(history, target, delta, kind, tol, start, options, undefined, 'epsilon');
  return {
    noiseMultiplier: r.sigma,
    epsilon: r.epsilon,
    accountant: kind,
    method: r.report.method,
    ...(r.report.fallback !== undefined ? { fallback: r.report.fallback } : {}),
    evaluations: r.evaluations,
    tolerance: tol,
  };
}

/**
 * The search both calibrations share: the smallest σ with ε(history(σ)) ≤ target under one accountant. RDP
 * evaluates a window of orders, PLD brackets on a coarse grid first; the returned σ's ε was evaluated (≤ target).
 */
function searchHistory(
  history: (s: number) => HistoryEntry[],
  target: number,
  delta: number,
  kind: AccountantKind,
  tol: number,
  start: number,
  options: { orders?: readonly number[]; discretization?: number },
  bracket: [number, number] | undefined,
  name: string,
): { sigma: number; epsilon: number; report: EpsilonReport; evaluations: number } {
  if (kind === 'rdp') {
    const all = options.orders === undefined ? DEFAULT_RDP_ORDERS : checkOrders('orders', options.orders);
    // Any order gives a valid bound, so the search evaluates a window of ~25 orders around the last
    // optimum (re-centred by a full evaluation whenever the optimum reaches the window's edge).
    let window: readonly number[] = all;
    const f = (s: number): number => {
      const r = ledgerRdpEpsilon(history(s), delta, { orders: window, refine: false });
      const i = window.indexOf(r.order);
      if (window !== all && i > 0 && i < window.length - 1) return r.epsilon;
      const full = window === all ? r : ledgerRdpEpsilon(history(s), delta, { orders: all, refine: false });
      const j = all.indexOf(full.order);
      window = all.slice(Math.max(0, j - 12), j + 13);
      return full.epsilon;
    };
    let r = searchSigma(f, target, tol, start, bracket, name);
    let evaluations = r.evaluations;
    // The failing end of the bracket was judged on a window: confirm with all orders.
    const fullAt = (s: number) => ledgerRdpEpsilon(history(s), delta, { orders: all, refine: false }).epsilon;
    if (r.lo !== undefined && fullAt(r.lo) <= target) {
      window = all;
      r = searchSigma(fullAt, target, tol, r.lo, undefined, name);
      evaluations += r.evaluations + 1;
    }
    const report = computeEpsilon(history(r.sigma), delta, { accountant: 'rdp', orders: all });
    return { sigma: r.sigma, epsilon: Math.min(report.epsilon, r.epsilon), report, evaluations };
  }
  const d =
    options.discretization === undefined
      ? DEFAULT_PLD_DISCRETIZATION
      : positiveNumber('discretization', options.discretization);
  // Every evaluation is computeEpsilon's proven upper bound (PLD, closed form at q = 1, or RDP when
  // smaller), so the returned σ meets the target whatever method answered.
  const reports = new Map<number, EpsilonReport>();
  const pldAt = (discretization: number, gridBudget: number) => (s: number) => {
    const rep = computeEpsilon(history(s), delta, { accountant: 'pld', discretization, lowerBound: false, gridBudget });
    reports.set(s, rep);
    return rep.epsilon;
  };
  // Coarse grid first (10Δ and 2^15 points: cheaper, still an upper bound) to bracket σ, then the
  // fine grid (Δ, at most 2^18 points: a quarter of computeEpsilon's default, to bound the ~10
  // evaluations' time; the bound at the returned σ is proven all the same).
  const c = searchSigma(pldAt(Math.min(10 * d, 1e-2), 2 ** 15), target, Math.max(tol, 1e-2), start, bracket, name);
  const r = searchSigma(pldAt(d, 2 ** 18), target, tol, c.sigma, [c.sigma * 0.98, c.sigma], name);
  return {
    sigma: r.sigma,
    epsilon: r.epsilon,
    report: reports.get(r.sigma) as EpsilonReport,
    evaluations: c.evaluations + r.evaluations,
  };
}

export interface MaxStepsOptions {
  noiseMultiplier: number;
  sampleRate: number;
  epsilon: number;
  delta: number;
  accountant?: AccountantKind;
  orders?: readonly number[];
  discretization?: number;
}

/** The largest T with ε(δ) ≤ target (0 if even one step exceeds it). */
export function maxSteps(options: MaxStepsOptions): {
  steps: number;
  epsilon: number;
  accountant: AccountantKind;
  method: EpsilonMethod;
} {
  requiredObject('options', options);
  const sigma = positiveNumber('noiseMultiplier', options.noiseMultiplier);
  const q = halfOpenUnitInterval('sampleRate', options.sampleRate);
  const target = positiveNumber('epsilon', options.epsilon);
  const delta = openUnitInterval('delta', options.delta);
  const kind = options.accountant ?? 'rdp';
  if (kind !== 'rdp' && kind !== 'pld') throw invalidArgument('accountant', '"rdp" or "pld"', kind);
  const event = dpsgdEvent(q, sigma);
  const orders = options.orders === undefined ? undefined : checkOrders('orders', options.orders);
  const rdpT = ledgerMaxSteps(event, target, delta, orders ? { orders } : {});
  const rdpEps = (t: number) =>
    t === 0 ? 0 : ledgerRdpEpsilon([{ event, count: t }], delta, orders ? { orders } : {}).epsilon;
  if (kind === 'rdp') {
    // Grid orders give rdpT exactly; refinement can only allow more steps.
    let t = rdpT;
    let e = rdpEps(t);
    // Gallop: double the stride while it fits, restart at 1 from the new t when it does not.
    let step = 1;
    for (;;) {
      const e2 = rdpEps(t + step);
      if (e2 > target) {
        if (step === 1) break;
        step = 1;
        continue;
      }
      t += step;
      e = e2;
      step *= 2;
    }
    return { steps: t, epsilon: e, accountant: 'rdp', method: 'rdp' };
  }
  const d =
    options.discretization === undefined
      ? DEFAULT_PLD_DISCRETIZATION
      : positiveNumber('discretization', options.discretization);
  const methods = new Map<number, EpsilonMethod>([[0, 'pld']]);
  const f = (t: number) => {
    if (t === 0) return 0;
    const rep = computeEpsilon([{ event, count: t }], delta, {
      accountant: 'pld',
      discretization: d,
      lowerBound: false,
    });
    methods.set(t, rep.method);
    return rep.epsilon;
  };
  // PLD is tighter than RDP, so the answer is usually ≥ rdpT: gallop up from there, then bisect.
  let lo = 0;
  let flo = 0;
  let hi: number;
  const start = Math.max(1, rdpT);
  const fs = f(start);
  if (fs <= target) {
    lo = start;
    flo = fs;
    let step = Math.max(1, Math.ceil(start / 4));
    hi = lo + step;
    let fhi = f(hi);
    while (fhi <= target) {
      lo = hi;
      flo = fhi;
      step *= 2;
      hi = lo + step;
      fhi = f(hi);
      if (hi > 1e12) break;
    }
  } else {
    hi = start;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const fm = f(mid);
    if (fm <= target) {
      lo = mid;
      flo = fm;
    } else hi = mid;
  }
  return { steps: lo, epsilon: flo, accountant: 'pld', method: methods.get(lo) ?? 'pld' };
}

export interface CalibrateEventOptions {
  /** The mechanism at noise multiplier σ: the whole run's event (compose steps with selfComposed/composed). */
  eventOf: (sigma: number) => DpEvent;
  /** Target ε (> 0). */
  targetEpsilon: number;
  /** Target δ ∈ (0, 1). */
  delta: number;
  accountant?: AccountantKind;
  orders?: readonly number[];
  discretization?: number;
  /** A starting bracket [lo, hi] for σ (widened as needed). */
  bracket?: readonly [number, number];
  /** Relative tolerance on σ (default 1e-3, in [1e-12, 0.5]). */
  tolerance?: number;
}

export interface CalibrateEventResult {
  /** The smallest σ found with ε(σ) ≤ target; σ ≤ (1 + tolerance)·σ* (σ* the exact smallest). */
  noiseMultiplier: number;
  /** ε(δ) at the returned σ (≤ the target), as computeEpsilon reports it. */
  epsilon: number;
  /** computeEpsilon's report at the returned σ. */
  report: EpsilonReport;
  /** Number of ε evaluations the search used. */
  evaluations: number;
  tolerance: number;
}

/**
 * The smallest noise multiplier σ (to a relative tolerance) whose event `eventOf(σ)` has ε(δ) ≤ target under one
 * accountant (computeEpsilon), for any event family whose ε decreases in σ — the role of dp_accounting's
 * calibrate_dp_mechanism (Google, differential-privacy), with the same Illinois search as calibrateNoiseMultiplier.
 * The returned σ is always one whose ε was computed and found ≤ target.
 */
export function calibrate(options: CalibrateEventOptions): CalibrateEventResult {
  requiredObject('options', options);
  const eventOf = options.eventOf;
  if (typeof eventOf !== 'function') throw invalidArgument('eventOf', 'a function σ → DpEvent', eventOf);
  const target = positiveNumber('targetEpsilon', options.targetEpsilon);
  const delta = openUnitInterval('delta', options.delta);
  const tol = options.tolerance === undefined ? 1e-3 : positiveNumber('tolerance', options.tolerance);
  if (tol > 0.5 || tol < 1e-12) throw invalidArgument('tolerance', 'in [1e-12, 0.5]', tol);
  const kind = options.accountant ?? 'rdp';
  if (kind !== 'rdp' && kind !== 'pld') throw invalidArgument('accountant', '"rdp" or "pld"', kind);
  let bracket: [number, number] | undefined;
  if (options.bracket !== undefined) {
    const b = options.bracket;
    if (!Array.isArray(b) || b.length !== 2) throw invalidArgument('bracket', 'a pair [lo, hi]', b);
    const lo = positiveNumber('bracket[0]', b[0]);
    const hi = positiveNumber('bracket[1]', b[1]);
    if (!(lo < hi) || !Number.isFinite(hi)) throw invalidArgument('bracket', 'finite with lo < hi', b);
    bracket = [lo, hi];
  }
  const history = (s: number): HistoryEntry[] => {
    let event: unknown;
    try {
      event = eventOf(s);
    } catch (err) {
      throw invalidArgument('eventOf', `a function that returns an event (it threw at σ = ${s}: ${String(err)})`, s);
    }
    return [{ event: validateEvent(event, `eventOf(${s})`), count: 1 }];
  };
  const orders = options.orders === undefined ? undefined : checkOrders('orders', options.orders);
  const discretization =
    options.discretization === undefined ? undefined : positiveNumber('discretization', options.discretization);
  const found = { ...(orders ? { orders } : {}), ...(discretization !== undefined ? { discretization } : {}) };
  const r = searchHistory(history, target, delta, kind, tol, 1, found, bracket, 'targetEpsilon');
  // The returned σ's ε was evaluated and met the target; re-assert it so no path returns the wrong side.
  if (!(r.epsilon <= target)) throw invalidArgument('targetEpsilon', 'reachable', target);
  return { noiseMultiplier: r.sigma, epsilon: r.epsilon, report: r.report, evaluations: r.evaluations, tolerance: tol };
}
