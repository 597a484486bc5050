// Group fairness metrics (src/fairness/group-metrics.ts) against a table worked by hand, plus the bootstrap's
// reproducibility and coverage, the degenerate cases and the typed errors.
import { describe, expect, it } from 'vitest';
import { isDpflError } from '../../src/errors.js';
import { type GroupStats, groupMetrics } from '../../src/fairness/group-metrics.js';

/** Examples with the given confusion counts (positive class 1): [predictions, labels]. */
function confusion(tp: number, fn: number, fp: number, tn: number): [number[], number[]] {
  const cells: [number, number, number][] = [
    [tp, 1, 1],
    [fn, 0, 1],
    [fp, 1, 0],
    [tn, 0, 0],
  ];
  const p: number[] = [];
  const y: number[] = [];
  for (const [count, pred, label] of cells) {
    for (let i = 0; i < count; i++) {
      p.push(pred);
      y.push(label);
    }
  }
  return [p, y];
}

/** The worked table, each group's rows repeated `copies` times. */
function table(copies = 1) {
  const predictions: number[] = [];
  const labels: number[] = [];
  const groups: number[] = [];
  for (let c = 0; c < copies; c++) {
    // Group A (id 0): TP 3, FN 1, FP 1, TN 5. Group B (id 1): TP 2, FN 3, FP 3, TN 2.
    for (const [g, counts] of [
      [0, [3, 1, 1, 5]],
      [1, [2, 3, 3, 2]],
    ] as const) {
      const [p, y] = confusion(...(counts as unknown as [number, number, number, number]));
      predictions.push(...p);
      labels.push(...y);
      groups.push(...p.map(() => g));
    }
  }
  return { predictions, labels, groups, groupNames: ['A', 'B'] };
}

const width = (m: { lower: number; upper: number }) => m.upper - m.lower;

describe('groupMetrics: the worked table', () => {
  // By hand:
  //   A: n 10, accuracy (3+5)/10 = 0.8, TPR 3/4 = 0.75, FPR 1/6, positive rate (3+1)/10 = 0.4
  //   B: n 10, accuracy (2+2)/10 = 0.4, TPR 2/5 = 0.4,  FPR 3/5 = 0.6, positive rate (2+3)/10 = 0.5
  //   demographic parity: difference 0.5 − 0.4 = 0.1, ratio 0.4 / 0.5 = 0.8
  //   equalised odds: TPR spread 0.75 − 0.4 = 0.35, FPR spread 0.6 − 1/6 = 13/30; max = 13/30
  //   worst-group accuracy 0.4 (B)
  const r = groupMetrics(table(), { bootstrap: 0 });

  it('gives the per-group rates', () => {
    const [a, b] = r.groups as [GroupStats, GroupStats];
    expect([a.name, a.id, a.n, a.positives]).toEqual(['A', 0, 10, 4]);
    expect([b.name, b.id, b.n, b.positives]).toEqual(['B', 1, 10, 5]);
    expect(a.accuracy.value).toBe(0.8);
    expect(a.tpr.value).toBe(0.75);
    expect(a.fpr.value).toBe(1 / 6);
    expect(a.positiveRate.value).toBe(0.4);
    expect(b.accuracy.value).toBe(0.4);
    expect(b.tpr.value).toBe(0.4);
    expect(b.fpr.value).toBe(0.6);
    expect(b.positiveRate.value).toBe(0.5);
  });

  it('gives the differences and the worst group', () => {
    expect(r.demographicParityDifference.value).toBeCloseTo(0.1, 15);
    expect(r.demographicParityRatio.value).toBeCloseTo(0.8, 15);
    expect(r.equalizedOddsDifference.value).toBeCloseTo(13 / 30, 15);
    expect(r.worstGroupAccuracy.value).toBe(0.4);
    expect(r.worstGroupAccuracy.group).toBe('B');
    expect(r.undefinedRates).toEqual([]);
  });

  it('bootstrap 0: no intervals', () => {
    expect(r.demographicParityDifference.lower).toBeNaN();
    expect(r.demographicParityDifference.resamples).toBe(0);
    expect(r.bootstrap).toEqual({ resamples: 0, confidence: 0.95, seed: 0 });
  });

  it('multiclass: accuracy is an exact match, the rates are positive vs rest', () => {
    // Group 0: (pred, label) = (1,1) TP, (2,0) negative/negative but wrong, (0,0) right, (1,2) FP.
    // Group 1: (2,2) right, (0,1) FN.
    const m = groupMetrics(
      { predictions: [1, 2, 0, 1, 2, 0], labels: [1, 0, 0, 2, 2, 1], groups: [0, 0, 0, 0, 1, 1] },
      { bootstrap: 0 },
    );
    const [g0, g1] = m.groups as [GroupStats, GroupStats];
    expect(g0.accuracy.value).toBe(0.5); // (1,1) and (0,0)
    expect(g0.tpr.value).toBe(1);
    expect(g0.fpr.value).toBe(1 / 3); // 1 of the 3 non-1 labels predicted 1
    expect(g0.positiveRate.value).toBe(0.5);
    expect(g1.accuracy.value).toBe(0.5);
    expect(g1.tpr.value).toBe(0);
    expect(g1.fpr.value).toBe(0);
    expect(m.groups.map((g) => g.name)).toEqual(['0', '1']);
  });

  it('accepts Int32Arrays and another positive class', () => {
    const t = table();
    const flip = (a: number[]) => Int32Array.from(a, (v) => 1 - v);
    // With positive = 0 on flipped predictions and labels, the table is the same.
    const m = groupMetrics(
      { predictions: flip(t.predictions), labels: flip(t.labels), groups: Int32Array.from(t.groups), positive: 0 },
      { bootstrap: 0 },
    );
    expect(m.groups[0]!.tpr.value).toBe(0.75);
    expect(m.equalizedOddsDifference.value).toBeCloseTo(13 / 30, 15);
  });
});

describe('groupMetrics: bootstrap intervals', () => {
  it('contain the point estimate and are reproducible with a seed', () => {
    const a = groupMetrics(table(5), { bootstrap: 400, seed: 7 });
    const b = groupMetrics(table(5), { bootstrap: 400, seed: 7 });
    const c = groupMetrics(table(5), { bootstrap: 400, seed: 8 });
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    for (const m of [
      a.demographicParityDifference,
      a.demographicParityRatio,
      a.equalizedOddsDifference,
      a.worstGroupAccuracy,
      ...a.groups.flatMap((g) => [g.accuracy, g.tpr, g.fpr, g.positiveRate]),
    ]) {
      expect(m.lower).toBeLessThanOrEqual(m.value);
      expect(m.upper).toBeGreaterThanOrEqual(m.value);
      expect(m.resamples).toBe(400);
    }
  });

  it('narrow with more data', () => {
    const small = groupMetrics(table(3), { bootstrap: 400, seed: 1 });
    const large = groupMetrics(table(30), { bootstrap: 400, seed: 1 });
    // 10× the examples: the standard error shrinks by about √10 ≈ 3.2; ask for 2×.
    for (const key of ['demographicParityDifference', 'equalizedOddsDifference', 'worstGroupAccuracy'] as const) {
      expect(width(large[key]) * 2).toBeLessThan(width(small[key]));
    }
  });

  it('a higher confidence gives a wider interval', () => {
    const lo = groupMetrics(table(5), { bootstrap: 400, seed: 3, confidence: 0.5 });
    const hi = groupMetrics(table(5), { bootstrap: 400, seed: 3, confidence: 0.99 });
    expect(width(hi.demographicParityDifference)).toBeGreaterThan(width(lo.demographicParityDifference));
  });
});

describe('groupMetrics: degenerate cases', () => {
  it('a group with no positives: TPR NaN, reported, and skipped by the differences', () => {
    // Group 0: labels all 0 (TN 3, FP 1). Group 1: TP 1, FN 1, TN 2. Group 2: TP 2, FN 0, FP 0, TN 2.
    const predictions = [0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0];
    const labels = [0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0];
    const groups = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
    const m = groupMetrics({ predictions, labels, groups }, { bootstrap: 200, seed: 2 });
    expect(m.groups[0]!.tpr.value).toBeNaN();
    expect(m.groups[0]!.tpr.resamples).toBe(0);
    expect(m.undefinedRates).toEqual([{ group: '0', rate: 'tpr', reason: 'no example with label 1' }]);
    // TPR spread over groups 1 and 2: 1 − 0.5; FPR spread over all three: 0.25 − 0.
    expect(m.equalizedOddsDifference.value).toBe(0.5);
    expect(Number.isNaN(m.equalizedOddsDifference.lower)).toBe(false);
  });

  it('a group with only positives: FPR NaN; with two groups the TPR spread alone remains', () => {
    const m = groupMetrics({ predictions: [1, 0, 1, 0], labels: [1, 1, 1, 0], groups: [0, 0, 1, 1] }, { bootstrap: 0 });
    expect(m.groups[0]!.fpr.value).toBeNaN();
    expect(m.undefinedRates).toEqual([{ group: '0', rate: 'fpr', reason: 'every label is 1' }]);
    expect(m.equalizedOddsDifference.value).toBe(0.5); // TPR: 0.5 vs 1
  });

  it('no positive prediction anywhere: the parity ratio is NaN (0/0), the difference 0', () => {
    const m = groupMetrics({ predictions: [0, 0, 0, 0], labels: [1, 0, 1, 0], groups: [0, 0, 1, 1] }, { bootstrap: 0 });
    expect(m.demographicParityDifference.value).toBe(0);
    expect(m.demographicParityRatio.value).toBeNaN();
  });

  it('a single group is refused: every difference compares groups', () => {
    expect(() => groupMetrics({ predictions: [1, 0], labels: [1, 1], groups: [3, 3] })).toThrow(/at least 2 distinct/);
  });
});

describe('groupMetrics: typed errors', () => {
  const ok = { predictions: [1, 0], labels: [1, 0], groups: [0, 1] };
  const cases: [string, () => unknown, 'ERR_DPFL_INVALID_ARGUMENT' | 'ERR_DPFL_INVALID_TYPE', RegExp][] = [
    ['empty', () => groupMetrics({ predictions: [], labels: [], groups: [] }), 'ERR_DPFL_INVALID_ARGUMENT', /length/],
    ['lengths', () => groupMetrics({ ...ok, labels: [1] }), 'ERR_DPFL_INVALID_ARGUMENT', /labels\.length/],
    ['group lengths', () => groupMetrics({ ...ok, groups: [0, 1, 1] }), 'ERR_DPFL_INVALID_ARGUMENT', /groups\.length/],
    [
      'non-integer',
      () => groupMetrics({ ...ok, predictions: [1, 0.5] }),
      'ERR_DPFL_INVALID_ARGUMENT',
      /predictions\[1\]/,
    ],
    ['NaN label', () => groupMetrics({ ...ok, labels: [Number.NaN, 0] }), 'ERR_DPFL_INVALID_ARGUMENT', /labels\[0\]/],
    ['negative group', () => groupMetrics({ ...ok, groups: [0, -1] }), 'ERR_DPFL_INVALID_ARGUMENT', /groups\[1\]/],
    ['not an array', () => groupMetrics({ ...ok, groups: 'ab' as never }), 'ERR_DPFL_INVALID_TYPE', /groups/],
    [
      'string element',
      () => groupMetrics({ ...ok, labels: [1, '0'] as never }),
      'ERR_DPFL_INVALID_TYPE',
      /labels\[1\]/,
    ],
    ['input', () => groupMetrics(null as never), 'ERR_DPFL_INVALID_TYPE', /input/],
    ['positive', () => groupMetrics({ ...ok, positive: 1.5 }), 'ERR_DPFL_INVALID_ARGUMENT', /positive/],
    ['bootstrap', () => groupMetrics(ok, { bootstrap: -1 }), 'ERR_DPFL_INVALID_ARGUMENT', /bootstrap/],
    ['bootstrap int', () => groupMetrics(ok, { bootstrap: 2.5 }), 'ERR_DPFL_INVALID_ARGUMENT', /bootstrap/],
    ['confidence 1', () => groupMetrics(ok, { confidence: 1 }), 'ERR_DPFL_INVALID_ARGUMENT', /confidence/],
    ['confidence 0', () => groupMetrics(ok, { confidence: 0 }), 'ERR_DPFL_INVALID_ARGUMENT', /confidence/],
    ['seed', () => groupMetrics(ok, { seed: 0.5 }), 'ERR_DPFL_INVALID_ARGUMENT', /seed/],
    ['names short', () => groupMetrics({ ...ok, groupNames: ['A'] }), 'ERR_DPFL_INVALID_ARGUMENT', /groupNames/],
    [
      'name type',
      () => groupMetrics({ ...ok, groupNames: ['A', 2] as never }),
      'ERR_DPFL_INVALID_TYPE',
      /groupNames\[1\]/,
    ],
    ['options', () => groupMetrics(ok, 3 as never), 'ERR_DPFL_INVALID_TYPE', /options/],
  ];
  it.each(cases)('%s', (_name, call, code, message) => {
    let error: unknown;
    try {
      call();
    } catch (e) {
      error = e;
    }
    expect(isDpflError(error, code)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/ must /);
  });
});
