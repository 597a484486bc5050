// The Likelihood Ratio Attack (LiRA) of Carlini, Chien, Nasr, Song, Terzis and Tramèr 2022,
// "Membership Inference Attacks From First Principles" (S&P), Algorithm 1. Shadow models are
// trained on random halves of the data, so each example is "in" for about half of them and
// "out" for the rest. The statistic is the logit-scaled confidence φ = log(p_y / (1 − p_y)) of
// the example's label, close to Gaussian across training runs (§IV-B). Per example, fit
// N(μ_in, σ_in²) to its φ under "in" shadows and N(μ_out, σ_out²) under "out" shadows; then
//   online:  score = log N(φ_target; μ_in, σ_in²) − log N(φ_target; μ_out, σ_out²)
//   offline: score = (φ_target − μ_out) / σ_out, monotone in the one-sided p-value
//            Λ = 1 − Pr[Z > φ_target], Z ~ N(μ_out, σ_out²), so it ranks examples the same way.
// With few shadow models one variance pooled over all examples is more reliable (§VI-A, "fixed
// variance"); `globalVariance` (default when fewer than 64 shadows) switches to it. An example
// with no "in" (or "out") shadow gets the mean of that side over all examples.
import { invalidArgument, invalidType } from '../errors.js';
import { numberArray, optionalBoolean, requiredObject } from '../validate.js';
import { labelArray } from './validate.js';

export interface LiraOptions {
  /** φ of every example under the target model. */
  target: ArrayLike<number>;
  /** φ of every example under each shadow model. */
  shadow: readonly ArrayLike<number>[];
  /** Per shadow model, 1 where the example was in its training set. */
  shadowMembership: readonly ArrayLike<number>[];
  /** 'online' (default; uses in and out fits) or 'offline' (out fits only). */
  variant?: 'online' | 'offline';
  /** One pooled variance per side instead of per-example variances (default: shadows < 64). */
  globalVariance?: boolean;
}

function moments(values: number[]): { mean: number; variance: number; n: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, variance: NaN, n };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
  return { mean, variance, n };
}

function logNormalPdf(x: number, mean: number, variance: number): number {
  return -0.5 * Math.log(2 * Math.PI * variance) - (x - mean) ** 2 / (2 * variance);
}

/** Membership scores (higher = more likely a member of the target's training set). */
export function liraScores(options: LiraOptions): Float64Array {
  const o = requiredObject('options', options);
  const target = numberArray('target', o.target, 'an array of confidences', 'empty');
  const n = target.length;
  if (!Array.isArray(o.shadow)) throw invalidType('shadow', 'a non-empty array of per-model confidences', o.shadow);
  if (o.shadow.length < 1) throw invalidArgument('shadow', 'a non-empty array of per-model confidences', o.shadow);
  const models = o.shadow.length;
  if (!Array.isArray(o.shadowMembership)) {
    throw invalidType('shadowMembership', `one membership array per shadow model (${models})`, o.shadowMembership);
  }
  if (o.shadowMembership.length !== models) {
    throw invalidArgument(
      'shadowMembership.length',
      `one membership array per shadow model (${models})`,
      o.shadowMembership.length,
    );
  }
  // Each array read once into a typed copy: the fitting loops below index them unchecked.
  const shadow = Array.from(o.shadow as unknown[], (s, m) => {
    const a = numberArray(`shadow[${m}]`, s, 'an array of confidences', 'empty');
    if (a.length !== n) throw invalidArgument(`shadow[${m}].length`, `${n} confidences (one per example)`, a.length);
    return a;
  });
  const shadowMembership = Array.from(o.shadowMembership as unknown[], (s, m) => {
    const a = labelArray(`shadowMembership[${m}]`, s);
    if (a.length !== n) {
      throw invalidArgument(`shadowMembership[${m}].length`, `${n} flags (one per example)`, a.length);
    }
    return a;
  });
  const variant = o.variant ?? 'online';
  if (variant !== 'online' && variant !== 'offline') throw invalidArgument('variant', '"online" or "offline"', variant);
  const pooled = optionalBoolean('globalVariance', o.globalVariance, shadow.length < 64);

  const inFit = new Array<{ mean: number; variance: number; n: number }>(n);
  const outFit = new Array<{ mean: number; variance: number; n: number }>(n);
  const sums = { in: [0, 0, 0], out: [0, 0, 0] }; // count, Σ mean, Σ within-example squared deviations
  for (let i = 0; i < n; i++) {
    const ins: number[] = [];
    const outs: number[] = [];
    for (let m = 0; m < shadow.length; m++) {
      const v = shadow[m]![i]!;
      if (!Number.isFinite(v)) throw invalidArgument(`shadow[${m}][${i}]`, 'a finite confidence', v);
      (shadowMembership[m]![i] ? ins : outs).push(v);
    }
    inFit[i] = moments(ins);
    outFit[i] = moments(outs);
    for (const [side, fit] of [
      ['in', inFit[i]!],
      ['out', outFit[i]!],
    ] as const) {
      if (fit.n === 0) continue;
      sums[side][0]! += fit.n;
      sums[side][1]! += fit.mean;
      sums[side][2]! += fit.variance * fit.n;
    }
  }
  const sideStats = (side: 'in' | 'out', fits: typeof inFit) => {
    const examples = fits.filter((f) => f.n > 0).length;
    return {
      mean: examples > 0 ? sums[side][1]! / examples : 0,
      variance: sums[side][0]! > 0 ? sums[side][2]! / sums[side][0]! : 1,
    };
  };
  const gIn = sideStats('in', inFit);
  const gOut = sideStats('out', outFit);
  const floor = 1e-6;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = target[i]!;
    if (!Number.isFinite(x)) throw invalidArgument(`target[${i}]`, 'a finite confidence', x);
    const fo = outFit[i]!;
    const fi = inFit[i]!;
    const muOut = fo.n > 0 ? fo.mean : gOut.mean;
    const varOut = Math.max(floor, pooled || fo.n < 2 ? gOut.variance : fo.variance);
    if (variant === 'offline') {
      out[i] = (x - muOut) / Math.sqrt(varOut);
    } else {
      const muIn = fi.n > 0 ? fi.mean : gIn.mean;
      const varIn = Math.max(floor, pooled || fi.n < 2 ? gIn.variance : fi.variance);
      out[i] = logNormalPdf(x, muIn, varIn) - logNormalPdf(x, muOut, varOut);
    }
  }
  return out;
}
