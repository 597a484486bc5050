// Adaptive clipping: Andrew, Thakkar, McMahan and Ramaswamy, "Differentially Private Learning with
// Adaptive Clipping", NeurIPS 2021 (Algorithm 1, geometric update). One module for DP-SGD (C over
// examples) and DP-FedAvg (S over client updates): it lives in dpsgd because fl sits above dpsgd
// in the layer picture (DESIGN.md) and may import it; accounting stays free of noise.
//
// Each contribution also reports b = 1[‖g‖ ≤ C]; the centred count Σ(b − ½) gets N(0, σ_b²) and
//   b̃ = (Σ(b − ½) + N(0, σ_b²)) / n + ½,    C ← C · exp(−η (b̃ − γ))
// with n the expected number of contributions (the fixed denominator), so C tracks the γ-quantile
// of the norms. Defaults γ = 0.5, η = 0.2, σ_b = n / 20 (the paper's).
//
// Accounting (Theorem 1): the noised sum (std σ_Δ·C, sensitivity C) and the noised centred count
// (std σ_b, add/remove sensitivity ½) are one Gaussian mechanism on the pair, whose whitened
// sensitivity is √(σ_Δ⁻² + (2σ_b)⁻²). Choosing σ_Δ = (σ⁻² − (2σ_b)⁻²)^(−1/2) makes it 1/σ, so a
// release costs exactly one subsampled Gaussian at σ — one event, not two composed ones — and
// needs σ_b > σ/2. Replace-one neighbours double both sensitivities; the caller's event (at σ/2
// relative to sensitivity 2C) covers the pair the same way.
import type { DpEvent } from '../accounting/index.js';
import { invalidArgument } from '../errors.js';
import { addGaussianNoise, type GaussianNoiseOptions } from '../kernels/noise.js';
import { openUnitInterval, positiveFinite, requiredObject } from '../validate.js';

/** The options of adaptive clipping, under one set of names for DP-SGD and DP-FedAvg. */
export interface AdaptiveClippingOptions {
  /** Target quantile γ of the norms, in (0, 1). Default 0.5. */
  targetQuantile?: number;
  /** Geometric learning rate η. Default 0.2. */
  learningRate?: number;
  /** Std σ_b of the noise on the count of unclipped contributions. Default (expected count) / 20. */
  countNoise?: number;
}

/** Checked options; countNoise stays undefined when absent (its default depends on the expected count). */
export interface AdaptiveClipping {
  readonly targetQuantile: number;
  readonly learningRate: number;
  readonly countNoise: number | undefined;
}

/**
 * Checks adaptive-clipping options (`name` prefixes the messages, e.g. "clipping") and fills in γ
 * and η. The pre-0.2.0 DP-SGD name countNoiseMultiplier is refused by name, not silently ignored.
 */
export function adaptiveClipping(name: string, options: object = {}): AdaptiveClipping {
  const o = requiredObject(name, options) as AdaptiveClippingOptions & { countNoiseMultiplier?: unknown };
  if (o.countNoiseMultiplier !== undefined) {
    const renamed = `absent (renamed ${name}.countNoise)`;
    throw invalidArgument(`${name}.countNoiseMultiplier`, renamed, o.countNoiseMultiplier);
  }
  const targetQuantile = openUnitInterval(`${name}.targetQuantile`, o.targetQuantile ?? 0.5);
  const learningRate = positiveFinite(`${name}.learningRate`, o.learningRate ?? 0.2);
  const countNoise = o.countNoise === undefined ? undefined : positiveFinite(`${name}.countNoise`, o.countNoise);
  return { targetQuantile, learningRate, countNoise };
}

/** σ_b: the given count noise, or the paper's default expectedCount / 20. */
export function countNoiseStd(rule: AdaptiveClipping, expectedCount: number): number {
  return rule.countNoise ?? expectedCount / 20;
}

/**
 * The noise multiplier of the sum, σ_Δ = (σ⁻² − (2σ_b)⁻²)^(−1/2), so that sum and count together
 * cost what σ alone would (Theorem 1). Refuses σ_b ≤ σ/2; `hint` says what to raise.
 */
export function sumNoiseMultiplier(sigma: number, countNoise: number, name: string, hint: string): number {
  const inv = sigma ** -2 - (2 * countNoise) ** -2;
  if (!(inv > 0)) {
    const expected = `greater than noiseMultiplier / 2 (${sigma / 2}); raise ${hint}`;
    throw invalidArgument(`${name}.countNoise`, expected, countNoise);
  }
  return inv ** -0.5;
}

/**
 * The one event a release of (noised sum, noised count) charges: the caller's subsampled Gaussian
 * at σ itself (Theorem 1), after checking that σ_b > σ/2 makes the split possible.
 */
export function adaptiveClippingEvent(
  eventOf: (noiseMultiplier: number) => DpEvent,
  sigma: number,
  countNoise: number,
  name: string,
  hint: string,
): DpEvent {
  sumNoiseMultiplier(sigma, countNoise, name, hint);
  return eventOf(sigma);
}

/**
 * The geometric update: draws N(0, σ_b²) for the centred count of the `below` of `total`
 * contributions with norm ≤ C, forms b̃ over the fixed denominator `expectedCount` and returns the
 * next C = C · exp(−η (b̃ − γ)). The noise is drawn as one float32 and added in float64.
 */
export function nextClipNorm(
  c: number,
  below: number,
  total: number,
  expectedCount: number,
  rule: AdaptiveClipping,
  noise: GaussianNoiseOptions,
): number {
  const centred = below - total / 2;
  const draw = new Float32Array([0]);
  addGaussianNoise(draw, countNoiseStd(rule, expectedCount), noise);
  const frac = (centred + draw[0]!) / expectedCount + 0.5;
  return c * Math.exp(-rule.learningRate * (frac - rule.targetQuantile));
}
