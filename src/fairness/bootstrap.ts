// Efron's percentile bootstrap, shared by the fairness measures (Efron, "Bootstrap methods: another look at the
// jackknife", Ann. Statist. 1979; Efron and Tibshirani, An Introduction to the Bootstrap, 1993, ch. 13): the
// interval is the (1−c)/2 and (1+c)/2 quantiles of the replicates, interpolated linearly between order statistics
// (numpy's default). Replicates where the statistic is undefined (NaN) are dropped and not counted.
// Pure TypeScript (no addon, no node:*).
import type { Random } from '../data/random.js';

/** A point estimate with its percentile bootstrap interval (NaN bounds when bootstrap = 0 or no replicate). */
export interface MetricInterval {
  value: number;
  lower: number;
  upper: number;
  /** Bootstrap replicates where the statistic was defined (the interval's sample size). */
  resamples: number;
}

/** The q-quantile of sorted values, interpolating linearly between order statistics (numpy's default). */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** The percentile interval of `replicates` (NaN ones dropped) around the point estimate `value`. */
export function percentileInterval(value: number, replicates: Float64Array, confidence: number): MetricInterval {
  const kept = replicates.filter((x) => !Number.isNaN(x)).sort();
  if (kept.length === 0) return { value, lower: Number.NaN, upper: Number.NaN, resamples: 0 };
  const alpha = 1 - confidence;
  return {
    value,
    lower: quantileSorted(kept, alpha / 2),
    upper: quantileSorted(kept, 1 - alpha / 2),
    resamples: kept.length,
  };
}

/**
 * The mean of `values` with the percentile interval of `resamples` bootstrap means (examples drawn with
 * replacement, n per replicate). Sums in float64.
 */
export function bootstrapMean(
  values: Float64Array,
  resamples: number,
  confidence: number,
  rng: Random,
): MetricInterval {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const replicates = new Float64Array(n === 0 ? 0 : resamples);
  for (let b = 0; b < replicates.length; b++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += values[rng.below(n)]!;
    replicates[b] = s / n;
  }
  return percentileInterval(n === 0 ? Number.NaN : sum / n, replicates, confidence);
}
