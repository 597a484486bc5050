// Rényi differential privacy (RDP) of the mechanisms, in log space, for integer and fractional
// orders, and the conversion from RDP to (ε, δ).
//
// - Gaussian: ε(α) = α / (2σ²) (Mironov 2017, "Rényi Differential Privacy", Prop. 7).
// - Laplace: ε(α) = 1/(α−1)·log(α/(2α−1)·e^{(α−1)/b} + (α−1)/(2α−1)·e^{−α/b}) (Mironov 2017, Prop. 6).
// - Poisson-subsampled Gaussian: ε(α) = log A_α / (α−1) with
//     A_α = E_{z∼N(0,σ²)}[((1−q) + q·e^{(2z−1)/(2σ²)})^α]
//   computed exactly (Mironov, Talwar and Zhang 2019, "Rényi Differential Privacy of the Sampled
//   Gaussian Mechanism", Sec. 3.3): a finite binomial sum for integer α, and for fractional α the
//   two convergent series over (−∞, z₀] and [z₀, ∞), z₀ = σ²·log(1/q − 1) + 1/2, summed with their
//   signs (the binomial coefficients of a fractional α alternate). Summing absolute values instead
//   is only an upper bound, loose by up to several times at small σ.
// - Sampling without replacement (fixed batch, replace-one): Wang, Balle and Kasiviswanathan 2019,
//   Theorem 9, for integer α ≥ 2; fractional α by linear interpolation of (α−1)ε(α), which is convex
//   in α (their Corollary 10), so the interpolation is an upper bound.
//
// (ε, δ) conversion: ε = min_α [ ε(α) + log((α−1)/α) − (log δ + log α)/(α−1) ]
// (Canonne, Kamath and Steinke 2020, "The Discrete Gaussian for DP", Prop. 12; Balle et al. 2020,
// "Hypothesis Testing Interpretations and Rényi DP", Thm. 21), together with ε = 0 whenever
// δ ≥ sqrt(1 − e^{−ε(α)}) (the KL / Bretagnolle–Huber bound), as in dp_accounting.
//
// Orders above MAX_EXACT_ORDER: the exact sums have α + 1 terms, so there both subsampled mechanisms
// report the RDP of the Gaussian without subsampling, α/(2σ²), a valid upper bound: Rényi divergence
// is jointly quasi-convex (van Erven and Harremoës 2014, "Rényi Divergence and Kullback-Leibler
// Divergence", Thm. 13), so a mixture over the sampled batch is never further apart than the
// Gaussian of one batch. At such orders the bound differs from the exact value by about |log q|.

import { logAddExp, logErfc, SignedLogSum } from './special.js';
import {
  halfOpenUnitInterval,
  notNaN,
  numberValue,
  numberWhere,
  openUnitInterval,
  positiveNumber,
  unitInterval,
} from '../validate.js';
import { invalidArgument, invalidType } from './errors.js';
import type { BaseEvent } from './events.js';

/**
 * Default orders: a superset of dp_accounting's DEFAULT_RDP_ORDERS (1.1…10.9 step 0.1, 11…63,
 * 128, 256, 512, 1024), with a finer grid near 1 (small-ε regime) and more large orders (large-ε,
 * tiny-q regime). The optimum found on the grid is then refined by a golden-section search over
 * fractional orders, so the reported ε never depends on the grid being dense.
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = (() => {
  const orders: number[] = [];
  for (let x = 1; x <= 9; x++) orders.push(1 + x / 100 + 0.01); // 1.02 … 1.10 — 1.01 is excluded by the conversion's stability limit
  for (let x = 11; x <= 99; x++) orders.push(Math.round((1 + x / 10) * 1e12) / 1e12); // 2.1 … 10.9 plus 1.1…2.0 below
  for (let x = 1; x <= 10; x++) orders.push(Math.round((1 + x / 10) * 1e12) / 1e12);
  for (let a = 11; a <= 64; a++) orders.push(a);
  for (const a of [72, 80, 96, 112, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 2048, 4096]) orders.push(a);
  return [...new Set(orders)].sort((a, b) => a - b);
})();

/** log C(n, k) for integers via lgamma-free summation of logs (exact enough: k ≤ 1e5). */
function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return -Infinity;
  k = Math.min(k, n - k);
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

/** log A_α for integer α ≥ 2 and 0 < q < 1. */
function logAInt(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const inv2s2 = 1 / (2 * sigma * sigma);
  let logA = -Infinity;
  let logC = 0; // log C(α, k)
  for (let k = 0; k <= alpha; k++) {
    if (k > 0) logC += Math.log((alpha - k + 1) / k);
    logA = logAddExp(logA, logC + k * logQ + (alpha - k) * log1mQ + (k * k - k) * inv2s2);
  }
  return logA;
}

const MAX_FRACTIONAL_TERMS = 5000;

/**
 * The largest order whose subsampled-Gaussian RDP is summed exactly (α + 1 terms, about a millisecond);
 * above it the Gaussian bound α/(2σ²) is reported (see the header), so any order costs bounded time.
 */
export const MAX_EXACT_ORDER = 2 ** 16;

/** log A_α for fractional α > 1 and 0 < q < 1: the signed series of MTZ 2019, Sec. 3.3. */
function logAFrac(q: number, sigma: number, alpha: number): number {
  const a0 = new SignedLogSum();
  const a1 = new SignedLogSum();
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const inv2s2 = 1 / (2 * sigma * sigma);
  const scale = 1 / (Math.SQRT2 * sigma);
  let logC = 0;
  let sign = 1;
  let lastS0 = Infinity;
  let lastS1 = Infinity;
  let converged = false;
  for (let i = 0; i < MAX_FRACTIONAL_TERMS; i++) {
    if (i > 0) {
      const f = alpha - (i - 1);
      logC += Math.log(Math.abs(f)) - Math.log(i);
      if (f < 0) sign = -sign;
    }
    const j = alpha - i;
    const logT0 = logC + i * logQ + j * log1mQ;
    const logT1 = logC + j * logQ + i * log1mQ;
    const logE0 = -Math.LN2 + logErfc((i - z0) * scale);
    const logE1 = -Math.LN2 + logErfc((z0 - j) * scale);
    const s0 = logT0 + (i * i - i) * inv2s2 + logE0;
    const s1 = logT1 + (j * j - j) * inv2s2 + logE1;
    a0.add(sign, s0);
    a1.add(sign, s1);
    // Stop once both series are decreasing and their terms are negligible against the total.
    const total = logAddExp(a0.sign > 0 ? a0.log : -Infinity, a1.sign > 0 ? a1.log : -Infinity);
    if (i > alpha && s0 < lastS0 && s1 < lastS1 && Math.max(s0, s1) < total - 40) {
      converged = true;
      break;
    }
    lastS0 = s0;
    lastS1 = s1;
  }
  // Cut off before convergence (α near MAX_FRACTIONAL_TERMS), the partial sums may lie below the truth.
  if (!converged || a0.sign < 0 || a1.sign < 0) {
    // Each half is an integral of a positive function; a negative partial sum means the series was
    // not summed accurately enough. Fall back to the always-valid bound through neighbouring integers.
    return NaN;
  }
  return logAddExp(a0.log, a1.log);
}

/** RDP ε(α) of the Poisson-subsampled Gaussian (unchecked: the accountants' inner loop). */
function poissonGaussianRdp(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (alpha === Infinity) return Infinity;
  if (q === 1 || alpha > MAX_EXACT_ORDER) return alpha / (2 * sigma * sigma);
  if (Number.isInteger(alpha)) return logAInt(q, sigma, alpha) / (alpha - 1);
  const logA = logAFrac(q, sigma, alpha);
  if (Number.isFinite(logA)) return logA / (alpha - 1);
  // Fallback (never observed in tests): (α−1)ε(α) = log A_α is convex in α (Hölder), so the chord
  // between the neighbouring integer orders bounds it from above.
  // Between 1 and 2 the chord runs from log A_1 = 0.
  const lo = Math.floor(alpha);
  const t = alpha - lo;
  const bound = (1 - t) * (lo < 2 ? 0 : logAInt(q, sigma, lo)) + t * logAInt(q, sigma, lo + 1);
  return bound / (alpha - 1);
}

function gaussianRdp(sigma: number, alpha: number): number {
  return alpha / (2 * sigma * sigma);
}

/** Laplace with scale b (sensitivity 1): Mironov 2017, Prop. 6. */
function laplaceRdp(b: number, alpha: number): number {
  const eps = 1 / b;
  if (alpha === Infinity) return eps;
  // ε + log1p((α−1)/(2α−1)·expm1((1−2α)ε))/(α−1): the form of dp_accounting, stable for α near 1.
  return eps + Math.log1p(((alpha - 1) / (2 * alpha - 1)) * Math.expm1((1 - 2 * alpha) * eps)) / (alpha - 1);
}

/** Wang, Balle, Kasiviswanathan 2019, Thm. 9 with ε(j) = j/(2σ²) and ε(∞) = ∞; returns log of the bound on A. */
function logAWorInt(gamma: number, sigma: number, alpha: number): number {
  const inv2s2 = 1 / (2 * sigma * sigma);
  const eps2 = 2 * inv2s2;
  // j = 2 term: γ²·C(α,2)·min(4(e^{ε(2)} − 1), 2e^{ε(2)})
  let logA = 0; // the leading 1
  const logGamma = Math.log(gamma);
  const min2 = Math.min(Math.log(4) + eps2 + Math.log(-Math.expm1(-eps2)), Math.LN2 + eps2);
  logA = logAddExp(logA, 2 * logGamma + logChoose(alpha, 2) + min2);
  let logC = logChoose(alpha, 2);
  for (let j = 3; j <= alpha; j++) {
    logC += Math.log((alpha - j + 1) / j);
    // γ^j·C(α,j)·e^{(j−1)ε(j)}·min(2, (e^{ε(∞)}−1)^j) = 2γ^j C(α,j) e^{j(j−1)/(2σ²)}
    logA = logAddExp(logA, Math.LN2 + j * logGamma + logC + j * (j - 1) * inv2s2);
  }
  return logA;
}

function withoutReplacementRdp(gamma: number, sigma: number, alpha: number): number {
  if (alpha === Infinity) return Infinity;
  if (gamma === 1 || alpha > MAX_EXACT_ORDER) return gaussianRdp(sigma, alpha);
  if (Number.isInteger(alpha) && alpha >= 2) return logAWorInt(gamma, sigma, alpha) / (alpha - 1);
  // (α−1)ε(α) is convex in α with value 0 at α = 1: interpolate between the integer neighbours.
  const lo = Math.floor(alpha);
  const hi = lo + 1;
  const t = alpha - lo;
  const cLo = lo < 2 ? 0 : logAWorInt(gamma, sigma, lo);
  const cHi = logAWorInt(gamma, sigma, hi);
  return ((1 - t) * cLo + t * cHi) / (alpha - 1);
}

/** RDP of one base event at order α. */
export function rdpOfEvent(event: BaseEvent, alpha: number): number {
  switch (event.kind) {
    case 'gaussian':
      return gaussianRdp(event.noiseMultiplier, alpha);
    case 'poisson-sampled-gaussian':
      return poissonGaussianRdp(event.sampleRate, event.noiseMultiplier, alpha);
    case 'sampled-without-replacement-gaussian':
      return withoutReplacementRdp(event.sampleSize / event.datasetSize, event.noiseMultiplier, alpha);
    case 'laplace':
      return laplaceRdp(event.noiseMultiplier, alpha);
  }
}

/** The (ε, δ) bound of one order (Canonne–Kamath–Steinke 2020 Prop. 12 / Balle et al. 2020 Thm. 21). */
export function orderEpsilon(alpha: number, rdp: number, delta: number): number {
  if (!(rdp >= 0)) return rdp < 0 ? 0 : Infinity; // tiny negative rounding of an exact 0
  if (rdp === Infinity) return Infinity;
  // KL bound: δ ≥ sqrt(1 − e^{−KL}) and KL ≤ ε(α) for α ≥ 1 ⇒ ε = 0 suffices.
  if (delta * delta + Math.expm1(-rdp) > 0) return 0;
  if (!(alpha > 1.01)) return Infinity; // the bound is numerically unstable as α → 1 (and useless there)
  return Math.max(0, rdp + Math.log1p(-1 / alpha) - (Math.log(delta) + Math.log(alpha)) / (alpha - 1));
}

/** min over the orders of orderEpsilon, with the minimising order (unchecked: the accountants' path). */
export function bestEpsilon(
  orders: readonly number[],
  rdp: ArrayLike<number>,
  delta: number,
): { epsilon: number; order: number } {
  let best = Infinity;
  let order = NaN;
  for (let i = 0; i < orders.length; i++) {
    const e = orderEpsilon(orders[i] as number, rdp[i] as number, delta);
    if (e < best || Number.isNaN(order)) {
      best = e;
      order = orders[i] as number;
    }
  }
  return { epsilon: best, order };
}

/** δ(ε) from RDP: min over orders of exp((α−1)(ε(α) − ε + log(1 − 1/α)) − log α), and the KL bound. */
function bestDelta(
  orders: readonly number[],
  rdp: ArrayLike<number>,
  epsilon: number,
): { delta: number; order: number } {
  let best = Infinity;
  let order = NaN;
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i] as number;
    const r = rdp[i] as number;
    let logDelta = r <= 0 ? -Infinity : 0.5 * Math.log(-Math.expm1(-r));
    if (a > 1.01 && Number.isFinite(r))
      logDelta = Math.min(logDelta, (a - 1) * (r - epsilon + Math.log1p(-1 / a)) - Math.log(a));
    if (logDelta < best || Number.isNaN(order)) {
      best = logDelta;
      order = a;
    }
  }
  return { delta: Math.min(1, Math.exp(best)), order };
}

// The public, checked entry points. Orders are > 1 (Infinity allowed); see MAX_EXACT_ORDER for large ones.

function checkOrder(name: string, value: unknown): number {
  return numberWhere(name, value, (v) => v > 1, 'a number > 1');
}

/** A non-empty array of orders > 1, read once. */
export function checkOrders(name: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidType(name, 'a non-empty array of numbers > 1', value);
  return Array.from(value as unknown[], (a, i) => checkOrder(`${name}[${i}]`, a));
}

/** One RDP value per order, read once into a Float64Array. */
function checkCurve(name: string, value: unknown, length: number): Float64Array {
  if (!Array.isArray(value) && !(value instanceof Float64Array)) {
    throw invalidType(name, 'an array or Float64Array of numbers', value);
  }
  const a = value as ArrayLike<unknown>;
  if (a.length !== length) throw invalidArgument(`${name}.length`, `${length} (one value per order)`, a.length);
  return Float64Array.from({ length }, (_, i) => notNaN(`${name}[${i}]`, a[i]));
}

/** RDP ε(α) of the Poisson-subsampled Gaussian (sampling rate q ∈ [0, 1], noise multiplier σ > 0). */
export function rdpPoissonGaussian(q: number, sigma: number, alpha: number): number {
  return poissonGaussianRdp(unitInterval('q', q), positiveNumber('sigma', sigma), checkOrder('alpha', alpha));
}

/** RDP ε(α) of the Gaussian mechanism with noise multiplier σ (Mironov 2017, Prop. 7). */
export function rdpGaussian(sigma: number, alpha: number): number {
  return gaussianRdp(positiveNumber('sigma', sigma), checkOrder('alpha', alpha));
}

/** RDP ε(α) of the Laplace mechanism with scale b (Mironov 2017, Prop. 6). */
export function rdpLaplace(b: number, alpha: number): number {
  return laplaceRdp(positiveNumber('b', b), checkOrder('alpha', alpha));
}

/** RDP ε(α) of the Gaussian on a batch sampled without replacement, fraction γ ∈ (0, 1] (WBK 2019, Thm. 9). */
export function rdpSampledWithoutReplacementGaussian(gamma: number, sigma: number, alpha: number): number {
  const g = halfOpenUnitInterval('gamma', gamma);
  return withoutReplacementRdp(g, positiveNumber('sigma', sigma), checkOrder('alpha', alpha));
}

/** The (ε, δ) bound of one order α with RDP value `rdp` (Canonne–Kamath–Steinke 2020 Prop. 12). */
export function epsilonAtOrder(alpha: number, rdp: number, delta: number): number {
  return orderEpsilon(checkOrder('alpha', alpha), notNaN('rdp', rdp), openUnitInterval('delta', delta));
}

/** The classic conversion ε = ε(α) − log δ/(α−1) (Mironov 2017, Prop. 3), for comparison with older publications. */
export function epsilonAtOrderClassic(alpha: number, rdp: number, delta: number): number {
  checkOrder('alpha', alpha);
  return notNaN('rdp', rdp) - Math.log(openUnitInterval('delta', delta)) / (alpha - 1);
}

/** min over the orders of epsilonAtOrder, with the minimising order. */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: ArrayLike<number>,
  delta: number,
): { epsilon: number; order: number } {
  const o = checkOrders('orders', orders);
  return bestEpsilon(o, checkCurve('rdp', rdp, o.length), openUnitInterval('delta', delta));
}

/** δ(ε) from RDP: min over orders of exp((α−1)(ε(α) − ε + log(1 − 1/α)) − log α), and the KL bound. */
export function deltaFromRdp(
  orders: readonly number[],
  rdp: ArrayLike<number>,
  epsilon: number,
): { delta: number; order: number } {
  const o = checkOrders('orders', orders);
  const e = numberValue('epsilon', epsilon);
  if (!(e >= 0)) throw invalidArgument('epsilon', 'a number >= 0', e);
  return bestDelta(o, checkCurve('rdp', rdp, o.length), e);
}
