// The PLD accountant: ε as an interval [lower, upper] that contains the true ε of the composed
// mechanism, from the optimistic and pessimistic discretisations of pld.ts.

import { deltaOf, gaussianEpsilonBracket } from './analytic-gaussian.js';
import {
  integerAtLeast,
  nonNegativeNumber,
  openUnitInterval,
  optionalBoolean,
  optionsObject,
  positiveNumber,
} from '../validate.js';
import { checkEntries, flattenEvent, type BaseEvent, type DpEvent } from './events.js';
import { accountingPrecision, isAccountingPrecision, unsupportedEvent } from './errors.js';
import {
  compositionWidth,
  composePlds,
  discretize,
  epsilonForDelta,
  deltaForEpsilon,
  MAX_GRID_POINTS,
  saddlePointTilt,
  STEP_TAIL_MASS,
  type DiscretePld,
} from './pld.js';
import { laplaceLoss, subsampledGaussianLoss, type LossModel } from './pld-loss.js';
import { ledgerRdpEpsilon } from './rdp-accountant.js';

/** dp_accounting's default value_discretization_interval (and JAX-Privacy's _DEFAULT_PLD_DISCRETIZATION). */
export const DEFAULT_PLD_DISCRETIZATION = 1e-4;

/**
 * Default point budget of the composed grid. Δ is the requested one unless the composed support
 * would need more points; then Δ grows to fit (time and memory stay bounded: ≤ 2^20 points, FFT
 * arrays of 8 MiB). The hard cap of any grid is MAX_GRID_POINTS = 2^22.
 */
export const DEFAULT_PLD_GRID_BUDGET = 2 ** 20;

export interface PldOptions {
  /** Grid spacing Δ of the privacy loss (default 1e-4): the finest used; coarsened to fit the budget. */
  discretization?: number;
  /** Most points of the composed grid (default 2^20, at most 2^22). */
  gridBudget?: number;
  /**
   * Answer compositions of Gaussians in closed form (default true). false composes them on the grid
   * like any other event: how the tests and the bench measure the grid against the exact value.
   */
  closedForm?: boolean;
}

export interface PldEpsilon {
  /** Pessimistic estimate: an upper bound on the true ε. */
  upper: number;
  /** Optimistic estimate: a lower bound on the true ε. */
  lower: number;
  /** The grid spacing used (the largest over the two directions; ≥ the requested one). */
  discretization: number;
  /** 'closed-form' when the ledger is a composition of Gaussians (q = 1): upper and lower bracket the exact ε. */
  method: 'pld' | 'closed-form';
}

type Direction = 'remove' | 'add';

interface Ledger {
  /** Distinct loss models per direction, with counts. */
  models: Array<{ key: string; remove: () => LossModel; add: () => LossModel; symmetric: boolean; count: number }>;
  /** μ = sqrt(Σ count/σ²) of the Gaussian part (0 if none). */
  gaussianMu: number;
}

/**
 * Groups the events: Gaussians (and Poisson sampling with q = 1) merge exactly into one Gaussian with
 * σ_eff = (Σ count/σ²)^{−1/2}; equal events are counted once.
 */
function ledgerOf(entries: ReadonlyArray<{ event: DpEvent; count: number }>): Ledger {
  const flat = new Map<string, { event: BaseEvent; count: number }>();
  for (const { event, count } of entries) flattenEvent(event, count, flat);
  let gaussianPrecision = 0; // Σ count/σ²
  const models: Ledger['models'] = [];
  for (const { event, count } of flat.values()) {
    switch (event.kind) {
      case 'gaussian':
        gaussianPrecision += count / (event.noiseMultiplier * event.noiseMultiplier);
        break;
      case 'poisson-sampled-gaussian': {
        const { sampleRate: q, noiseMultiplier: s } = event;
        if (q === 1) {
          gaussianPrecision += count / (s * s);
          break;
        }
        models.push({
          key: `psg:${q}:${s}`,
          remove: () => subsampledGaussianLoss(q, s, 'remove'),
          add: () => subsampledGaussianLoss(q, s, 'add'),
          symmetric: false,
          count,
        });
        break;
      }
      case 'laplace': {
        const b = event.noiseMultiplier;
        const m = () => laplaceLoss(b);
        models.push({ key: `lap:${b}`, remove: m, add: m, symmetric: true, count });
        break;
      }
      case 'sampled-without-replacement-gaussian':
        throw unsupportedEvent('pld', event.kind, 'replace-one neighbours; use the rdp accountant');
    }
  }
  if (gaussianPrecision > 0) {
    const s = 1 / Math.sqrt(gaussianPrecision);
    const m = () => subsampledGaussianLoss(1, s, 'remove');
    models.push({ key: `g:${s}`, remove: m, add: m, symmetric: true, count: 1 });
  }
  return { models, gaussianMu: Math.sqrt(gaussianPrecision) };
}

/** Throws the accountant's error if the event cannot be accounted by PLD. */
export function checkPldSupports(event: DpEvent): void {
  ledgerOf([{ event, count: 1 }]);
}

// Step pmfs by (model, direction, estimate, Δ); bounded by points held (≤ 2^23 doubles, 64 MiB).
const cache = new Map<string, DiscretePld>();
let cachedPoints = 0;
const CACHE_POINTS = 2 ** 23;

function cachedPmf(
  key: string,
  direction: Direction,
  pessimistic: boolean,
  d: number,
  model: () => LossModel,
): DiscretePld {
  const k = `${key}|${direction}|${pessimistic ? 'p' : 'o'}|${d}`;
  let pld = cache.get(k);
  if (!pld) {
    pld = discretize(model(), d, pessimistic, STEP_TAIL_MASS);
    if (cache.size > 64 || cachedPoints + pld.probs.length > CACHE_POINTS) {
      cache.clear();
      cachedPoints = 0;
    }
    cache.set(k, pld);
    cachedPoints += pld.probs.length;
  }
  return pld;
}

type LedgerModel = Ledger['models'][number];

function modelFor(m: LedgerModel, direction: Direction): { dir: Direction; model: () => LossModel } {
  return m.symmetric || direction === 'remove' ? { dir: 'remove', model: m.remove } : { dir: direction, model: m.add };
}

/**
 * The interval [lo, hi] of losses outside which each tail of the model has mass ≤ tail (by
 * galloping then bisection on the tails; no grid is allocated).
 */
function lossRange(model: LossModel, tail: number): { lo: number; hi: number } {
  const edge = (above: boolean): number => {
    const finite = above ? model.maxLoss : model.minLoss;
    if (Number.isFinite(finite)) return finite;
    const dir = above ? 1 : -1;
    const out = (x: number) => (above ? model.tails(x).pAbove : model.tails(x).pBelow) > tail;
    const from = above ? Math.max(0, model.minLoss) : Math.min(0, model.maxLoss);
    let inside = from;
    let step = 1;
    let x = from + dir * step;
    while (out(x)) {
      inside = x;
      step *= 2;
      x = from + dir * step;
      if (step > 1e12) throw accountingPrecision('pld', 'the privacy-loss support of one step is wider than 1e12');
    }
    for (let i = 0; i < 40; i++) {
      const mid = 0.5 * (inside + x);
      if (out(mid)) inside = mid;
      else x = mid;
    }
    return x;
  };
  return { lo: edge(false), hi: edge(true) };
}

/**
 * The grid spacing for one direction: the requested Δ, or the smallest Δ at which every step pmf and
 * the composed support fit in `budget` points. The composed width is estimated from a coarse
 * discretisation (≈ 4096 points per step); the fine composition re-checks it (composePlds throws
 * rather than exceeding MAX_GRID_POINTS).
 */
function chooseDiscretization(ledger: Ledger, direction: Direction, requested: number, budget: number): number {
  const ranges = ledger.models.map((m) => lossRange(modelFor(m, direction).model(), STEP_TAIL_MASS));
  const stepWidth = Math.max(...ranges.map((r) => r.hi - r.lo));
  const coarse = Math.max(stepWidth / 4096, 1e-9);
  const items = ledger.models.map((m) => {
    const f = modelFor(m, direction);
    return { pld: cachedPmf(m.key, f.dir, true, coarse, f.model), count: m.count };
  });
  const width = Math.max(compositionWidth(items), stepWidth) + 4 * coarse;
  return Math.max(requested, (1.05 * width) / (budget - 2));
}

function composeDirection(
  ledger: Ledger,
  direction: Direction,
  pessimistic: boolean,
  d: number,
  tilt = 0,
): DiscretePld | null {
  const items = ledger.models.map((m) => {
    const f = modelFor(m, direction);
    return { pld: cachedPmf(m.key, f.dir, pessimistic, d, f.model), count: m.count };
  });
  if (items.every((it) => it.count === 0)) return null;
  return composePlds(items, 1e-15, tilt);
}

/** Pessimistic composition at Δ, coarsening Δ (×2, a few times) if the fine support still overflows the cap. */
function composeWithin(
  ledger: Ledger,
  direction: Direction,
  d0: number,
  tilt = 0,
): { pess: DiscretePld | null; d: number } {
  let d = d0;
  for (let attempt = 0; ; attempt++) {
    try {
      return { pess: composeDirection(ledger, direction, true, d, tilt), d };
    } catch (e) {
      if (!isAccountingPrecision(e) || attempt >= 3 || !/grid points/.test(e.message)) throw e;
      d *= 2;
    }
  }
}

/**
 * Largest per-step mean shift E[L' − L] of connect-the-dots rounding on a grid of spacing Δ: for a
 * loss at a + uΔ the rounded loss has mean a + θ(u)Δ with θ(u) = (1 − e^{−uΔ})/(1 − e^{−Δ}) ≥ u, so
 * the shift is Δ·max_u(θ(u) − u) ≈ Δ²/8. Evaluated on a fine grid with a 1% margin.
 */
function ctdBias(d: number): number {
  let m = 0;
  const denom = -Math.expm1(-d);
  for (let i = 1; i < 1000; i++) {
    const u = i / 1000;
    m = Math.max(m, -Math.expm1(-u * d) / denom - u);
  }
  return 1.01 * d * m + 1e-300;
}

/**
 * A lower bound on the true ε from the pessimistic (connect-the-dots) composition, by coupling:
 * rounding each step's loss L_i to L'_i ∈ {a, b} with the connect-the-dots weights is a randomised
 * rounding with E[L'_i − L_i | L_i] ∈ [0, β] (β = ctdBias) and L'_i − L_i in an interval of length Δ
 * given L_i. By Hoeffding, P(S' − S > t + Tβ) ≤ e^{−2t²/(TΔ²)} = η_H, and on the complement
 * (1 − e^{ε−S})₊ ≥ (1 − e^{ε+τ−S'})₊ with τ = t + Tβ. Hence δ_true(ε) ≥ δ_CTD(ε + τ) − η_H − η_out,
 * i.e. ε_true(δ) ≥ ε_CTD(δ + η_H + η_out) − τ (η_out: mass cut from the grid, slack of the FFT).
 * The same idea, with mean-preserving rounding, underlies the PRV accountant (Gopi, Lee and
 * Wutschitz 2021). η_H is chosen among a few multiples of δ to maximise the bound.
 */
function concentrationLowerBound(pess: DiscretePld, delta: number, steps: number, cutMass: number): number {
  const d = pess.discretization;
  const beta = ctdBias(d);
  // Use the composition with its slack counted against us (the slack of a pessimistic pmf is ≥ 0).
  const asLower: DiscretePld = {
    ...pess,
    deltaSlack: -Math.abs(pess.deltaSlack),
    ...(pess.roundOffPerBin !== undefined ? { roundOffPerBin: -Math.abs(pess.roundOffPerBin) } : {}),
    ...(pess.tiltError ? { tiltError: { ...pess.tiltError, coef: -Math.abs(pess.tiltError.coef) } } : {}),
  };
  let best = 0;
  for (const f of [1e-3, 1e-2, 0.03, 0.1, 0.3, 1]) {
    const etaH = f * delta;
    const t = d * Math.sqrt((steps * Math.log(1 / etaH)) / 2);
    const eps = epsilonForDelta(asLower, delta + etaH + cutMass) - t - steps * beta;
    if (eps > best) best = eps;
  }
  return best;
}

/**
 * ε interval of a ledger at δ. Compositions of Gaussians (q = 1) are answered in closed form
 * (Balle and Wang 2018, Thm. 8); everything else by the PLD on a grid whose size is bounded by
 * `gridBudget`. Throws ERR_DPFL_ACCOUNTING_PRECISION when no bounded grid can represent the ledger.
 */
export function pldEpsilon(
  entries: ReadonlyArray<{ event: DpEvent; count: number }>,
  delta: number,
  options: PldOptions & { lowerBound?: boolean } = {},
): PldEpsilon {
  const o = optionsObject('options', options);
  const checked: PldOptions & { lowerBound?: boolean } = checkPldOptions(o);
  if (o.lowerBound !== undefined) checked.lowerBound = optionalBoolean('options.lowerBound', o.lowerBound, true);
  return ledgerPldEpsilon(checkEntries('entries', entries, 0), openUnitInterval('delta', delta), checked);
}

function checkPldOptions(o: Partial<PldOptions>): PldOptions {
  const out: PldOptions = {};
  if (o.discretization !== undefined) out.discretization = positiveNumber('options.discretization', o.discretization);
  if (o.gridBudget !== undefined) out.gridBudget = integerAtLeast('options.gridBudget', o.gridBudget, 1);
  if (o.closedForm !== undefined) out.closedForm = optionalBoolean('options.closedForm', o.closedForm, true);
  return out;
}

/** pldEpsilon of a validated ledger (the accountants' path). */
export function ledgerPldEpsilon(
  entries: ReadonlyArray<{ event: DpEvent; count: number }>,
  delta: number,
  options: PldOptions & { lowerBound?: boolean } = {},
): PldEpsilon {
  const requested = options.discretization ?? DEFAULT_PLD_DISCRETIZATION;
  const budget = Math.min(options.gridBudget ?? DEFAULT_PLD_GRID_BUDGET, MAX_GRID_POINTS);
  const ledger = ledgerOf(entries);
  if (ledger.models.length === 0) return { upper: 0, lower: 0, discretization: requested, method: 'pld' };
  if (ledger.models.length === 1 && ledger.gaussianMu > 0 && options.closedForm !== false) {
    const { lower, upper } = gaussianEpsilonBracket(ledger.gaussianMu, delta);
    return { upper, lower, discretization: 0, method: 'closed-form' };
  }
  const symmetric = ledger.models.every((m) => m.symmetric);
  const directions: Direction[] = symmetric ? ['remove'] : ['remove', 'add'];
  const steps = ledger.models.reduce((s, m) => s + m.count, 0);
  let upper = 0;
  let lower = 0;
  let used = requested;
  for (const dir of directions) {
    const d0 = chooseDiscretization(ledger, dir, requested, budget);
    // FFT round-off (≈ 1e-17 per bin, absolute) is material at small δ: when the plain composition's
    // error moves δ by more than 0.1 %, compose the pmfs again, exponentially tilted at the saddle
    // point of the ε found (or of the RDP ε when none was), and keep the smaller ε (both are upper
    // bounds).
    const plain = composeWithin(ledger, dir, d0);
    if (!plain.pess) continue;
    const candidates: Array<{ pess: DiscretePld; d: number }> = [plain as { pess: DiscretePld; d: number }];
    let eps = epsilonForDelta(plain.pess, delta);
    const roundOff = Math.abs(plain.pess.roundOffPerBin ?? 0) * plain.pess.probs.length;
    if (!(eps < Infinity) || Math.abs(plain.pess.deltaSlack) + roundOff > 1e-3 * delta) {
      // The saddle target: the smaller of the plain and the RDP ε (the plain one is inflated by the
      // very round-off the tilt removes), refined once at the tilted ε when that is 10 % away.
      let target = Math.min(eps, ledgerRdpEpsilon(entries, delta).epsilon);
      const items = ledger.models.map((m) => {
        const f = modelFor(m, dir);
        return { pld: cachedPmf(m.key, f.dir, true, plain.d, f.model), count: m.count };
      });
      for (let k = 0; k < 2 && target > 0 && target < Infinity; k++) {
        const tilted = composeWithin(ledger, dir, plain.d, saddlePointTilt(items, target));
        if (!tilted.pess) break;
        candidates.push(tilted as { pess: DiscretePld; d: number });
        const e = epsilonForDelta(tilted.pess, delta);
        eps = Math.min(eps, e);
        if (!(Math.abs(e / target - 1) > 0.1)) break;
        target = e;
      }
    }
    upper = Math.max(upper, eps);
    for (const { pess, d } of candidates) {
      used = Math.max(used, d);
      if (options.lowerBound === false) continue;
      // Mass cut from each step's grid (to +∞ above, moved up below): bounded by the step pmfs' tails.
      const cut = ledger.models.reduce((s, m) => {
        const f = modelFor(m, dir);
        const p = cachedPmf(m.key, f.dir, true, d, f.model);
        return s + m.count * (p.infinityMass + STEP_TAIL_MASS);
      }, 0);
      lower = Math.max(lower, concentrationLowerBound(pess, delta, steps, cut));
    }
  }
  return { upper, lower: Math.min(lower, upper), discretization: used, method: 'pld' };
}

/** Upper bound on δ(ε) of a ledger (pessimistic PLD, max over directions). */
export function pldDelta(
  entries: ReadonlyArray<{ event: DpEvent; count: number }>,
  epsilon: number,
  options: PldOptions = {},
): number {
  const checked = checkPldOptions(optionsObject('options', options));
  const ledger = checkEntries('entries', entries, 0);
  nonNegativeNumber('epsilon', epsilon);
  return ledgerPldDelta(ledger, epsilon, checked);
}

function ledgerPldDelta(
  entries: ReadonlyArray<{ event: DpEvent; count: number }>,
  epsilon: number,
  options: PldOptions,
): number {
  const requested = options.discretization ?? DEFAULT_PLD_DISCRETIZATION;
  const budget = Math.min(options.gridBudget ?? DEFAULT_PLD_GRID_BUDGET, MAX_GRID_POINTS);
  const ledger = ledgerOf(entries);
  if (ledger.models.length === 0) return 0;
  if (ledger.models.length === 1 && ledger.gaussianMu > 0) return deltaOf(ledger.gaussianMu, epsilon);
  const directions: Direction[] = ledger.models.every((m) => m.symmetric) ? ['remove'] : ['remove', 'add'];
  let delta = 0;
  for (const dir of directions) {
    const { pess } = composeWithin(ledger, dir, chooseDiscretization(ledger, dir, requested, budget));
    if (pess) delta = Math.max(delta, deltaForEpsilon(pess, epsilon));
  }
  return delta;
}
