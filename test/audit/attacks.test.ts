import { describe, expect, it } from 'vitest';
import { liraScores } from '../../src/audit/lira.js';
import { lossThresholdScores } from '../../src/audit/loss-attack.js';
import { auc, rocCurve } from '../../src/audit/roc.js';
import { Random } from '../../src/audit/train-adapter.js';

describe('lossThresholdScores', () => {
  it('negates the loss (lower loss = more likely a member)', () => {
    expect(Array.from(lossThresholdScores([0.1, 2, 0]))).toEqual([-0.1, -2, -0]);
    expect(() => lossThresholdScores([1, NaN])).toThrow('loss[1] must be a number (not NaN), received NaN');
  });
});

describe('liraScores', () => {
  // Hand-computed: one example, shadows in at φ = 3, 5 and out at φ = 0, 2 (means 4 and 1,
  // per-example variances 1 and 1); the target observes φ = 4.
  const shadow = [[3], [5], [0], [2]];
  const membership = [[1], [1], [0], [0]];
  it('online: log N(4; 4, 1) − log N(4; 1, 1) = 4.5', () => {
    const s = liraScores({ target: [4], shadow, shadowMembership: membership, globalVariance: false });
    expect(s[0]).toBeCloseTo(4.5, 12);
  });
  it('offline: (4 − 1) / 1 = 3', () => {
    const s = liraScores({
      target: [4],
      shadow,
      shadowMembership: membership,
      variant: 'offline',
      globalVariance: false,
    });
    expect(s[0]).toBeCloseTo(3, 12);
  });

  it('per-example calibration separates members that a global loss threshold cannot (fixed seed)', () => {
    // Each example has its own difficulty d_i; membership adds +1 to its confidence.
    const rng = new Random(5);
    const n = 2000;
    const models = 16;
    const difficulty = Array.from({ length: n }, () => 4 * rng.normal());
    const draw = (i: number, member: number) => difficulty[i]! + member + 0.3 * rng.normal();
    const shadowMembership = Array.from({ length: models }, () => Array.from({ length: n }, () => rng.below(2)));
    const shadowConf = shadowMembership.map((m) => m.map((f, i) => draw(i, f)));
    const targetIn = Array.from({ length: n }, () => rng.below(2));
    const target = targetIn.map((f, i) => draw(i, f));
    const lira = auc(rocCurve(liraScores({ target, shadow: shadowConf, shadowMembership }), targetIn));
    const global = auc(rocCurve(target, targetIn));
    expect(lira).toBeGreaterThan(0.95);
    expect(global).toBeLessThan(0.6);
    const offline = auc(
      rocCurve(liraScores({ target, shadow: shadowConf, shadowMembership, variant: 'offline' }), targetIn),
    );
    expect(offline).toBeGreaterThan(0.9);
  });

  it('rejects mismatched shapes', () => {
    expect(() => liraScores({ target: [1, 2], shadow: [[1]], shadowMembership: [[1]] })).toThrow(
      'shadow[0].length must be 2 confidences (one per example), received 1',
    );
    expect(() => liraScores({ target: [1], shadow: [[1]], shadowMembership: [] })).toThrow(
      'shadowMembership.length must be one membership array per shadow model (1), received 0',
    );
    expect(() => liraScores({ target: [1], shadow: [], shadowMembership: [] })).toThrow(
      'shadow must be a non-empty array',
    );
  });
});
