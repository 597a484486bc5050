// metricAgreement against scipy (pearsonr, spearmanr) and a brute-force permutation count in Python
// (itertools.permutations, two-sided |r| ≥ observed), the Monte-Carlo path, ties, and bad input.
import { describe, expect, it } from 'vitest';
import { isDpflError } from '../../src/errors.js';
import { metricAgreement, ranks } from '../../src/fairness/agreement.js';
import { intrinsicExtrinsicAgreement } from '../../src/cli/commands/fairness.js';
import type { SettingResult } from '../../src/cli/commands/fairness-experiment.js';

describe('metricAgreement', () => {
  it('matches scipy and the exact permutation count (n = 5: 120 matchings)', () => {
    const a = metricAgreement([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]);
    expect(a.runs).toBe(5);
    expect(a.pearson).toBeCloseTo(0.8, 12);
    expect(a.spearman).toBeCloseTo(0.8, 12);
    expect(a.pValueMethod).toBe('exact');
    expect(a.matchings).toBe(120);
    expect(a.pValue.pearson).toBeCloseTo(16 / 120, 12);
    expect(a.pValue.spearman).toBeCloseTo(16 / 120, 12);
  });

  it('handles ties by mean ranks (scipy spearmanr) and a negative association (n = 6: 720 matchings)', () => {
    const x = [0.1, 0.5, 0.5, 0.9, 1.3, 2.0];
    const y = [3.0, 2.5, 2.9, 1.0, 1.1, 0.2];
    expect([...ranks(Float64Array.from(x))]).toEqual([1, 2.5, 2.5, 4, 5, 6]);
    const a = metricAgreement(x, y);
    expect(a.pearson).toBeCloseTo(-0.9333779523300086, 12);
    expect(a.spearman).toBeCloseTo(-0.9276336570439174, 12);
    expect(a.pValue.pearson).toBeCloseTo(6 / 720, 12);
    expect(a.pValue.spearman).toBeCloseTo(12 / 720, 12);
  });

  it('estimates the p-value by seeded Monte-Carlo when n! exceeds permutations', () => {
    const x = [0.1, 0.5, 0.5, 0.9, 1.3, 2.0];
    const y = [3.0, 2.5, 2.9, 1.0, 1.1, 0.2];
    const a = metricAgreement(x, y, { permutations: 20_000, seed: 3 });
    expect(a.pValueMethod).toBe('exact'); // 720 ≤ 20 000
    const m = metricAgreement(x, y, { permutations: 500, seed: 3 });
    expect(m.pValueMethod).toBe('monte-carlo');
    expect(m.matchings).toBe(500);
    expect(m.pValue.pearson).toBeGreaterThanOrEqual(1 / 501); // (k + 1)/(m + 1): never 0
    expect(Math.abs(m.pValue.pearson - 6 / 720)).toBeLessThan(0.015);
    expect(Math.abs(m.pValue.spearman - 12 / 720)).toBeLessThan(0.02);
    expect(metricAgreement(x, y, { permutations: 500, seed: 3 })).toEqual(m); // seeded
  });

  it('gives NaN (coefficients and p-values) when a measure does not vary', () => {
    const a = metricAgreement([1, 1, 1], [1, 2, 3]);
    expect(a.pearson).toBeNaN();
    expect(a.spearman).toBeNaN();
    expect(a.pValue.pearson).toBeNaN();
    expect(a.pValue.spearman).toBeNaN();
  });

  it('refuses bad input with typed errors', () => {
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(isDpflError(e)).toBe(true);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(codeOf(() => metricAgreement([1, 2], [1, 2]))).toMatch(/^x must be at least 3 values/);
    expect(codeOf(() => metricAgreement([1, 2, 3], [1, 2]))).toMatch(/^y must be 3 values/);
    expect(codeOf(() => metricAgreement([1, Number.NaN, 3], [1, 2, 3]))).toMatch(/^x\[1\] must be a finite/);
    expect(codeOf(() => metricAgreement([1, 2, 3], 'abc' as never))).toMatch(/^y must be an array of numbers/);
    expect(codeOf(() => metricAgreement([1, 2, 3], [1, 2, 3], { permutations: 0 }))).toMatch(/permutations/);
  });
});

describe('intrinsicExtrinsicAgreement (dpfl fairness)', () => {
  const run = (seed: number, d: number, gap: number) => ({
    seed,
    weat: { effectSize: d, pValue: 0.5, pValueMethod: 'exact' },
    counterfactual: {
      examples: 10,
      meanAbsDelta: { value: gap, lower: gap, upper: gap, resamples: 0 },
      flipRate: { value: 0, lower: 0, upper: 0, resamples: 0 },
      maxAbsDelta: gap,
    },
  });
  it('pairs WEAT d with the mean |Δp| over every ε × seed run', () => {
    const settings = [
      { epsilon: 1, seeds: [run(1, 0.1, 0.004), run(2, 0.2, 0.003)] },
      { epsilon: null, seeds: [run(1, 0.3, 0.002), run(2, 0.4, 0.001)] },
    ] as unknown as SettingResult[];
    const a = intrinsicExtrinsicAgreement(settings)!;
    expect(a.runs).toBe(4);
    expect(a.spearman).toBeCloseTo(-1, 12);
    expect(a.pValue.spearman).toBeCloseTo(2 / 24, 12);
    expect(intrinsicExtrinsicAgreement(settings.slice(0, 1))).toBeUndefined(); // 2 runs: too few
  });
});
