// counterfactualGap on toy predictors whose answer is computed by hand, and its typed errors.
import { describe, expect, it } from 'vitest';
import { isDpflError } from '../../src/errors.js';
import { counterfactualGap } from '../../src/fairness/counterfactual.js';

// 0.9 when the word "she" is present, else 0.1.
const likesShe = (texts: string[]): Float64Array => Float64Array.from(texts, (t) => (/\bshe\b/i.test(t) ? 0.9 : 0.1));

describe('counterfactualGap', () => {
  const texts = [
    'She is a nurse.', // twin "He is a nurse.": 0.9 vs 0.1, flips, |Δ| = 0.8
    'He is a doctor.', // twin "She is a doctor.": 0.1 vs 0.9, flips, |Δ| = 0.8
    'The book is hers.', // twin "The book is his.": 0.1 vs 0.1, |Δ| = 0
    'No gendered word here.', // skipped
    'the shell', // skipped ("she" only inside a word)
  ];

  it('matches the hand-computed gap', async () => {
    const gap = await counterfactualGap(texts, likesShe);
    expect(gap.examples).toBe(3);
    expect(gap.indices).toEqual([0, 1, 2]);
    expect(gap.flipRate).toBeCloseTo(2 / 3, 12);
    expect(gap.meanAbsDelta).toBeCloseTo(1.6 / 3, 12);
    expect(gap.maxAbsDelta).toBeCloseTo(0.8, 12);
    expect(Array.from(gap.absDeltas)).toEqual([expect.closeTo(0.8, 12), expect.closeTo(0.8, 12), 0]);
  });

  it('takes an async predictor returning Float32Array and a threshold', async () => {
    const asyncPredict = async (t: string[]): Promise<Float32Array> => Float32Array.from(likesShe(t));
    // At threshold 0.05 both 0.1 and 0.9 are positive: nothing flips, the deltas stay.
    const gap = await counterfactualGap(texts, asyncPredict, { threshold: 0.05 });
    expect(gap.flipRate).toBe(0);
    expect(gap.meanAbsDelta).toBeCloseTo(1.6 / 3, 6);
  });

  it('is zero for a predictor blind to gender', async () => {
    const gap = await counterfactualGap(texts, (t) => new Float64Array(t.length).fill(0.7));
    expect(gap).toMatchObject({ examples: 3, flipRate: 0, meanAbsDelta: 0, maxAbsDelta: 0 });
  });

  it('reports NaN without calling predict when no text has a gendered term', async () => {
    let called = false;
    const gap = await counterfactualGap(['hello', 'the shell'], (t) => {
      called = true;
      return new Float64Array(t.length);
    });
    expect(called).toBe(false);
    expect(gap.examples).toBe(0);
    expect(gap.flipRate).toBeNaN();
    expect(gap.meanAbsDelta).toBeNaN();
  });

  it('refuses bad inputs with typed errors', async () => {
    const code = async (p: Promise<unknown>): Promise<unknown> =>
      p.then(
        () => 'resolved',
        (e: unknown) => (isDpflError(e) ? e.code : e),
      );
    expect(await code(counterfactualGap('he' as unknown as string[], likesShe))).toBe('ERR_DPFL_INVALID_TYPE');
    expect(await code(counterfactualGap(['he', 3] as unknown as string[], likesShe))).toBe('ERR_DPFL_INVALID_TYPE');
    expect(await code(counterfactualGap(['he'], null as never))).toBe('ERR_DPFL_INVALID_TYPE');
    expect(await code(counterfactualGap(['he'], likesShe, { threshold: 2 }))).toBe('ERR_DPFL_INVALID_ARGUMENT');
    expect(await code(counterfactualGap(['he'], () => new Float64Array(1)))).toBe('ERR_DPFL_INVALID_ARGUMENT');
    expect(await code(counterfactualGap(['he'], () => [0.1, 0.2] as never))).toBe('ERR_DPFL_INVALID_TYPE');
    expect(await code(counterfactualGap(['he'], () => Float64Array.of(0.1, NaN)))).toBe('ERR_DPFL_NON_FINITE');
    expect(await code(counterfactualGap(['he'], () => Float64Array.of(0.1, 1.5)))).toBe('ERR_DPFL_INVALID_ARGUMENT');
  });
});
