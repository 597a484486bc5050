import { describe, expect, it } from 'vitest';
import { advantage, attackMetrics, auc, balancedAccuracy, rocCurve, tprAtFpr } from '../../src/audit/roc.js';
import { rocSvg } from '../../src/audit/roc-svg.js';

// Hand-computed: members score .9 .8 .6, non-members .7 .5 .4.
const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
const labels = [1, 1, 0, 1, 0, 0];

describe('rocCurve and metrics', () => {
  it('walks every threshold from (0, 0) to (1, 1)', () => {
    const roc = rocCurve(scores, labels);
    expect(Array.from(roc.thresholds)).toEqual([Infinity, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4]);
    expect(Array.from(roc.truePositives)).toEqual([0, 1, 2, 2, 3, 3, 3]);
    expect(Array.from(roc.falsePositives)).toEqual([0, 0, 0, 1, 1, 2, 3]);
    expect(roc.tpr[2]).toBeCloseTo(2 / 3, 15);
    expect(roc.fpr[3]).toBeCloseTo(1 / 3, 15);
  });

  it('AUC is the Mann–Whitney statistic: 8 of 9 member/non-member pairs ordered right', () => {
    expect(auc(rocCurve(scores, labels))).toBeCloseTo(8 / 9, 15);
  });

  it('advantage, balanced accuracy and TPR at low FPR', () => {
    const roc = rocCurve(scores, labels);
    expect(advantage(roc)).toBeCloseTo(2 / 3, 15); // threshold .6: TPR 1, FPR 1/3
    expect(balancedAccuracy(roc)).toBeCloseTo(5 / 6, 15);
    expect(tprAtFpr(roc, 0.01)).toBeCloseTo(2 / 3, 15); // FPR 0 up to threshold .8
    expect(tprAtFpr(roc, 0.5)).toBe(1);
    const m = attackMetrics(roc);
    expect(m.tprAt01PctFpr).toBeCloseTo(2 / 3, 15);
  });

  it('ties count one half; a perfect and an inverted score', () => {
    expect(auc(rocCurve([1, 1, 0, 0], [1, 0, 1, 0]))).toBe(0.5);
    expect(auc(rocCurve([3, 2, 1, 0], [1, 1, 0, 0]))).toBe(1);
    expect(auc(rocCurve([3, 2, 1, 0], [0, 0, 1, 1]))).toBe(0);
    expect(advantage(rocCurve([3, 2, 1, 0], [0, 0, 1, 1]))).toBe(0);
  });

  it('rejects bad input with clear errors', () => {
    expect(() => rocCurve([1, 2], [1])).toThrow('labels.length must be the length of scores (2), received 1');
    expect(() => rocCurve([1, 2], [1, 1])).toThrow('labels must be both members (1) and non-members (0)');
    expect(() => rocCurve([1, NaN], [1, 0])).toThrow('scores[1] must be a number (not NaN), received NaN');
    expect(() => rocCurve([1, 2], [1, 2])).toThrow('labels[1] must be 0, 1, true or false, received 2');
    expect(() => tprAtFpr(rocCurve(scores, labels), 2)).toThrow('maxFpr must be in [0, 1], received 2');
  });
});

describe('rocSvg', () => {
  it('draws one labelled polyline per curve plus the chance line', () => {
    const svg = rocSvg(
      [
        { label: 'non-private <loss>', roc: rocCurve(scores, labels) },
        { label: 'ε = 1', roc: rocCurve([1, 0], [0, 1]) },
      ],
      { title: 'ROC' },
    );
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    expect(svg).toContain('non-private &lt;loss&gt;');
    expect(svg).toContain('1e-4');
    expect(svg).not.toContain('NaN');
  });

  it('rejects an empty plot', () => {
    expect(() => rocSvg([])).toThrow('curves must be a non-empty array');
  });
});
