// Clopper–Pearson ("exact") confidence interval for a binomial proportion (Clopper and Pearson,
// Biometrika 1934): for k successes in n trials at confidence 1 − α,
//   lower = B⁻¹(α/2; k, n − k + 1)   (0 when k = 0),
//   upper = B⁻¹(1 − α/2; k + 1, n − k)   (1 when k = n),
// B⁻¹ the beta quantile. The same two-sided convention as scipy.stats.binomtest(...).proportion_ci
// (method 'exact'), which the tests compare against.
import { invalidArgument } from '../errors.js';
import { betaQuantile } from './beta.js';

export interface ProportionInterval {
  lower: number;
  upper: number;
}

export function clopperPearson(successes: number, trials: number, confidence = 0.95): ProportionInterval {
  if (!Number.isSafeInteger(trials) || trials <= 0) throw invalidArgument('trials', 'a positive integer', trials);
  if (!Number.isSafeInteger(successes) || successes < 0 || successes > trials)
    throw invalidArgument('successes', `an integer in [0, trials = ${trials}]`, successes);
  if (typeof confidence !== 'number' || !(confidence > 0 && confidence < 1))
    throw invalidArgument('confidence', 'in (0, 1)', confidence);
  const alpha = 1 - confidence;
  const k = successes;
  const n = trials;
  return {
    lower: k === 0 ? 0 : betaQuantile(alpha / 2, k, n - k + 1),
    upper: k === n ? 1 : betaQuantile(1 - alpha / 2, k + 1, n - k),
  };
}
