// The PLD accountant: ε as an interval [lower, upper] that contains the true ε of the composed
// mechanism, from the optimistic and pessimistic discretisations of pld.ts.

import { flattenEvent, type BaseEvent, type DpEvent } from './events.js';
import { unsupportedEvent } from './errors.js';
import { composePlds, discretize, epsilonForDelta, deltaForEpsilon, STEP_TAIL_MASS, type DiscretePld } from './pld.js';
import { laplaceLoss, subsampledGaussianLoss, type LossModel } from './pld-loss.js';

/** dp_accounting's default value_discretization_interval (and JAX-Privacy's _DEFAULT_PLD_DISCRETIZATION). */
export const DEFAULT_PLD_DISCRETIZATION = 1e-4;

export interface PldOptions {
  /** Grid spacing Δ of the privacy loss (default 1e-4). Smaller is tighter and slower. */
  discretization?: number;
}

export interface PldEpsilon {
  /** Pessimistic estimate: an upper bound on the true ε. */
  upper: number;
  /** Optimistic estimate: a lower bound on the true ε. */
  lower: number;
  discretization: number;
}

type Direction = 'remove' | 'add';

interface Ledger {
  /** Distinct loss models per direction, with counts. */
  models: Array<{ key: string; remove: () => LossModel; add: () => LossModel; symmetric: boolean; count: number }>;
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
  return { models };
}

/** Throws the accountant's error if the event cannot be accounted by PLD. */
export function checkPldSupports(event: DpEvent): void {
  ledgerOf([{ event, count: 1 }]);
}

const cache = new Map<string, DiscretePld>();

function cachedPmf(key: string, direction: Direction, pessimistic: boolean, d: number, model: () => LossModel): DiscretePld {
  const k = `${key}|${direction}|${pessimistic ? 'p' : 'o'}|${d}`;
  let pld = cache.get(k);
  if (!pld) {
    pld = discretize(model(), d, pessimistic, STEP_TAIL_MASS);
    if (cache.size > 64) cache.clear();
    cache.set(k, pld);
  }
  return pld;
}

function composeDirection(ledger: Ledger, direction: Direction, pessimistic: boolean, d: number): DiscretePld | null {
  const items = ledger.models.map((m) => ({
    pld: cachedPmf(m.symmetric ? m.key : `${m.key}`, m.symmetric ? 'remove' : direction, pessimistic, d, m.symmetric || direction === 'remove' ? m.remove : m.add),
    count: m.count,
  }));
  if (items.every((it) => it.count === 0)) return null;
  return composePlds(items);
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
  const asLower: DiscretePld = { ...pess, deltaSlack: -Math.abs(pess.deltaSlack) };
  let best = 0;
  for (const f of [1e-3, 1e-2, 0.03, 0.1, 0.3, 1]) {
    const etaH = f * delta;
    const t = d * Math.sqrt((steps * Math.log(1 / etaH)) / 2);
    const eps = epsilonForDelta(asLower, delta + etaH + cutMass) - t - steps * beta;
    if (eps > best) best = eps;
  }
  return best;
}

/** ε interval of a ledger at δ. */
export function pldEpsilon(
  entries: ReadonlyArray<{ event: DpEvent; count: number }>,
  delta: number,
  options: PldOptions & { lowerBound?: boolean } = {},
): PldEpsilon {
  const d = options.discretization ?? DEFAULT_PLD_DISCRETIZATION;
  const ledger = ledgerOf(entries);
  if (ledger.models.length === 0) return { upper: 0, lower: 0, discretization: d };
  const symmetric = ledger.models.every((m) => m.symmetric);
  const directions: Direction[] = symmetric ? ['remove'] : ['remove', 'add'];
  const steps = ledger.models.reduce((s, m) => s + m.count, 0);
  let upper = 0;
  let lower = 0;
  for (const dir of directions) {
    const pess = composeDirection(ledger, dir, true, d);
    if (!pess) continue;
    upper = Math.max(upper, epsilonForDelta(pess, delta));
    if (options.lowerBound !== false) {
      // Mass cut from each step's grid (to +∞ above, moved up below): bounded by the step pmfs' tails.
      const cut = ledger.models.reduce((s, m) => {
        const p = cachedPmf(m.key, m.symmetric ? 'remove' : dir, true, d, m.symmetric || dir === 'remove' ? m.remove : m.add);
        return s + m.count * (p.infinityMass + STEP_TAIL_MASS);
      }, 0);
      lower = Math.max(lower, concentrationLowerBound(pess, delta, steps, cut));
    }
  }
  return { upper, lower: Math.min(lower, upper), discretization: d };
}

/** Upper bound on δ(ε) of a ledger (pessimistic PLD, max over directions). */
export function pldDelta(entries: ReadonlyArray<{ event: DpEvent; count: number }>, epsilon: number, options: PldOptions = {}): number {
  const d = options.discretization ?? DEFAULT_PLD_DISCRETIZATION;
  const ledger = ledgerOf(entries);
  if (ledger.models.length === 0) return 0;
  const directions: Direction[] = ledger.models.every((m) => m.symmetric) ? ['remove'] : ['remove', 'add'];
  let delta = 0;
  for (const dir of directions) {
    const pess = composeDirection(ledger, dir, true, d);
    if (pess) delta = Math.max(delta, deltaForEpsilon(pess, epsilon));
  }
  return delta;
}
