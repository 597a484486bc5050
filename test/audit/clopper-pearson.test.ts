import { describe, expect, it } from 'vitest';
import { betaCdf, betaQuantile, logGamma } from '../../src/audit/beta.js';
import { clopperPearson } from '../../src/audit/clopper-pearson.js';

// Reference values: scipy 1.17.1, scipy.stats.beta.cdf / beta.ppf, and the 95 % two-sided
// Clopper–Pearson bounds beta.ppf(0.025, k, n-k+1), beta.ppf(0.975, k+1, n-k).
describe('beta function', () => {
  it('logGamma matches factorials and Γ(1/2)', () => {
    expect(logGamma(1)).toBeCloseTo(0, 14);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 14);
  });

  it('betaCdf matches scipy', () => {
    expect(betaCdf(0.3, 2, 5)).toBeCloseTo(0.5798250000000003, 13); // beta.cdf(0.3, 2, 5)
    expect(betaCdf(0.9, 0.5, 0.5)).toBeCloseTo(0.7951672353008665, 13); // beta.cdf(0.9, .5, .5)
    expect(betaCdf(0, 2, 3)).toBe(0);
    expect(betaCdf(1, 2, 3)).toBe(1);
  });

  it('betaQuantile matches scipy, including far tails', () => {
    expect(betaQuantile(0.01, 200, 3)).toBeCloseTo(0.9590407607584879, 12); // beta.ppf(0.01, 200, 3)
    const tiny = betaQuantile(1e-6, 0.5, 40); // beta.ppf(1e-6, 0.5, 40) = 1.9758053628145796e-14
    expect(Math.abs(tiny - 1.9758053628145796e-14) / 1.9758053628145796e-14).toBeLessThan(1e-9);
    for (const [p, a, b] of [
      [0.3, 2, 5],
      [0.999, 7, 1],
      [1e-4, 1, 1e5],
    ] as const) {
      expect(betaCdf(betaQuantile(p, a, b), a, b)).toBeCloseTo(p, 12);
    }
  });

  it('rejects bad arguments with clear errors', () => {
    expect(() => betaQuantile(1.5, 1, 1)).toThrow('p must be a probability in [0, 1], received 1.5');
    expect(() => betaCdf(0.5, 0, 1)).toThrow('a must be a positive finite number, received 0');
  });
});

describe('clopperPearson', () => {
  // [k, n, lower, upper] from scipy (see the comment above).
  const cases: [number, number, number, number][] = [
    [0, 10, 0, 0.3084971078187607],
    [1, 10, 0.0025285785444617848, 0.4450161170281954],
    [5, 10, 0.18708602844739855, 0.8129139715526015],
    [10, 10, 0.6915028921812392, 1],
    [50, 100, 0.39832112950330095, 0.601678870496699],
    [0, 1000, 0, 0.003682083896865671],
    [3, 1000, 0.0006190999316495713, 0.008742023238478303],
    [995, 1000, 0.9883705294401879, 0.9983745804824372],
    [1, 100000, 2.531780477933314e-7, 5.571516034774275e-5],
  ];
  for (const [k, n, lo, hi] of cases) {
    it(`k = ${k}, n = ${n}`, () => {
      const ci = clopperPearson(k, n);
      expect(Math.abs(ci.lower - lo)).toBeLessThanOrEqual(1e-10 * Math.max(lo, 1e-300) + 1e-16);
      expect(Math.abs(ci.upper - hi)).toBeLessThanOrEqual(1e-10 * hi);
    });
  }

  it('narrows as the confidence falls', () => {
    const wide = clopperPearson(30, 100, 0.99);
    const narrow = clopperPearson(30, 100, 0.9);
    expect(wide.lower).toBeLessThan(narrow.lower);
    expect(wide.upper).toBeGreaterThan(narrow.upper);
  });

  it('rejects bad arguments with clear errors', () => {
    expect(() => clopperPearson(11, 10)).toThrow('successes must be an integer in [0, trials = 10], received 11');
    expect(() => clopperPearson(1, 0)).toThrow('trials must be a positive integer, received 0');
    expect(() => clopperPearson(1, 10, 1)).toThrow('confidence must be in (0, 1), received 1');
  });
});
