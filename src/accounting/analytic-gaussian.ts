// Exact (ε, δ) of the Gaussian mechanism and of any composition of Gaussians (q = 1), in closed form:
//   δ(ε) = Φ(−ε/μ + μ/2) − e^ε·Φ(−ε/μ − μ/2),   μ = sqrt(Σ_t 1/σ_t²)
// (Balle and Wang 2018, "Improving the Gaussian mechanism for DP: analytical calibration and optimal
// denoising", Thm. 8; Dong, Roth and Su 2019, Gaussian DP, Cor. 2.13). Used as the reference the
// accountants are tested against.

import { nonNegativeNumber, openUnitInterval, positiveNumber } from '../validate.js';
import { logNormalCdf } from './special.js';

/** δ(ε) of a Gaussian mechanism with sensitivity-to-noise ratio μ. */
export function gaussianDelta(mu: number, epsilon: number): number {
  positiveNumber('mu', mu);
  nonNegativeNumber('epsilon', epsilon);
  return deltaOf(mu, epsilon);
}

/** gaussianDelta unchecked: the bisection's inner loop. */
export function deltaOf(mu: number, epsilon: number): number {
  const a = logNormalCdf(-epsilon / mu + mu / 2);
  const b = epsilon + logNormalCdf(-epsilon / mu - mu / 2);
  if (b >= a) return 0;
  // e^a − e^b without cancellation in the tails
  return Math.exp(a) * -Math.expm1(b - a);
}

/**
 * The exact ε(δ) of the Gaussian mechanism with ratio μ, bracketed by bisection to 1e-12 relative:
 * δ(lower) > δ ≥ δ(upper) (lower = upper = 0 when δ(0) ≤ δ).
 */
export function gaussianEpsilonBracket(mu: number, delta: number): { lower: number; upper: number } {
  // Checked at the entry: a negative μ or δ made the doubling search below loop forever.
  positiveNumber('mu', mu);
  openUnitInterval('delta', delta);
  if (deltaOf(mu, 0) <= delta) return { lower: 0, upper: 0 };
  let lo = 0;
  // ε lies below μ²/2 + μ·z with z = sqrt(2 log(1/δ)) (the loss is N(μ²/2, μ²)): start near it.
  let hi = Math.max(1, 0.5 * mu * mu + mu * Math.sqrt(2 * Math.log(1 / delta)));
  while (deltaOf(mu, hi) > delta) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (deltaOf(mu, mid) > delta) lo = mid;
    else hi = mid;
  }
  return { lower: lo, upper: hi };
}

/** The exact ε(δ) of the Gaussian mechanism with ratio μ (the upper end of the bisection bracket). */
export function gaussianEpsilon(mu: number, delta: number): number {
  return gaussianEpsilonBracket(mu, delta).upper;
}

/** μ of T compositions of the Gaussian mechanism with noise multiplier σ. */
export function gaussianMu(noiseMultiplier: number, steps = 1): number {
  positiveNumber('noiseMultiplier', noiseMultiplier);
  nonNegativeNumber('steps', steps);
  return Math.sqrt(steps) / noiseMultiplier;
}
