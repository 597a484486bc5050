// Privacy-loss models: for a dominating pair (P, Q) of a mechanism, the privacy loss
// L = log(dP/dQ)(X) with X ∼ P, described by its tails under P and under Q. Tails under Q are what
// make connect-the-dots discretisation exact (E_P[e^{−L}; L ∈ S] = Q(L ∈ S)).
//
// Pairs (sensitivity 1, noise multiplier σ, sampling rate q):
// - Poisson-subsampled Gaussian, "remove" direction: P = (1−q)N(0,σ²) + qN(1,σ²), Q = N(0,σ²);
//   "add" direction: P = N(0,σ²), Q = (1−q)N(0,σ²) + qN(1,σ²). These pairs dominate the mechanism
//   for add/remove-one neighbours (Zhu, Dong and Wang 2022, "Optimal accounting of DP via
//   characteristic function", Prop. 30); ε is the max over the two directions. With q = 1 both
//   directions are the Gaussian pair N(1,σ²) vs N(0,σ²), whose loss is N(μ²/2, μ²) with μ = 1/σ.
// - Laplace with scale b: P = Lap(0, b), Q = Lap(1, b) (symmetric: one direction suffices).

import { normalCdf, normalSf } from './special.js';

export interface Tails {
  /** P(L > ℓ) */
  pAbove: number;
  /** Q(L > ℓ) */
  qAbove: number;
  /** P(L ≤ ℓ) */
  pBelow: number;
  /** Q(L ≤ ℓ) */
  qBelow: number;
}

export interface LossModel {
  /** The tails at ℓ, each computed from its own side so that small tails keep relative precision. */
  tails(loss: number): Tails;
  /** Infimum and supremum of the finite losses (±Infinity when unbounded). */
  readonly minLoss: number;
  readonly maxLoss: number;
}

/**
 * Subsampled Gaussian: the threshold x*(m) with log((1−q) + q·e^{(2x−1)/(2σ²)}) > m ⟺ x > x*(m),
 * −∞ when m ≤ log(1−q).
 */
function threshold(q: number, sigma: number, m: number): number {
  if (q === 1) return sigma * sigma * m + 0.5;
  if (m <= Math.log1p(-q)) return -Infinity;
  return sigma * sigma * (Math.log(Math.expm1(m) + q) - Math.log(q)) + 0.5;
}

export function subsampledGaussianLoss(q: number, sigma: number, direction: 'remove' | 'add'): LossModel {
  const s = sigma;
  if (direction === 'remove') {
    return {
      minLoss: q === 1 ? -Infinity : Math.log1p(-q),
      maxLoss: Infinity,
      tails(loss) {
        const x = threshold(q, s, loss);
        const z0 = x / s;
        const z1 = (x - 1) / s;
        const sf0 = normalSf(z0);
        const sf1 = normalSf(z1);
        const cdf0 = normalCdf(z0);
        const cdf1 = normalCdf(z1);
        return {
          pAbove: (1 - q) * sf0 + q * sf1,
          qAbove: sf0,
          pBelow: (1 - q) * cdf0 + q * cdf1,
          qBelow: cdf0,
        };
      },
    };
  }
  return {
    minLoss: -Infinity,
    maxLoss: q === 1 ? Infinity : -Math.log1p(-q),
    tails(loss) {
      // L = −log((1−q) + q e^{(2x−1)/(2σ²)}) > ℓ ⟺ x < x*(−ℓ)
      const x = threshold(q, s, -loss);
      const z0 = x / s;
      const z1 = (x - 1) / s;
      const cdf0 = normalCdf(z0);
      const cdf1 = normalCdf(z1);
      const sf0 = normalSf(z0);
      const sf1 = normalSf(z1);
      return {
        pAbove: cdf0,
        qAbove: (1 - q) * cdf0 + q * cdf1,
        pBelow: sf0,
        qBelow: (1 - q) * sf0 + q * sf1,
      };
    },
  };
}

/** Laplace(0, b) vs Laplace(1, b): L(x) = (|x − 1| − |x|)/b ∈ [−1/b, 1/b], atoms at both ends. */
export function laplaceLoss(b: number): LossModel {
  const top = 1 / b;
  return {
    minLoss: -top,
    maxLoss: top,
    tails(loss) {
      if (loss >= top) return { pAbove: 0, qAbove: 0, pBelow: 1, qBelow: 1 };
      if (loss < -top) return { pAbove: 1, qAbove: 1, pBelow: 0, qBelow: 0 };
      // L > ℓ ⟺ x < t with t = (1 − bℓ)/2 ∈ (0, 1]
      const t = (1 - b * loss) / 2;
      const pUpper = 0.5 * Math.exp(-t / b); // P(X ≥ t), X ∼ Lap(0, b), t > 0
      const qLower = 0.5 * Math.exp((t - 1) / b); // Q(X < t), X ∼ Lap(1, b), t ≤ 1
      return { pAbove: 1 - pUpper, qAbove: qLower, pBelow: pUpper, qBelow: 1 - qLower };
    },
  };
}
