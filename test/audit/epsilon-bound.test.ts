import { describe, expect, it } from 'vitest';
import { empiricalEpsilon, epsilonFromCounts, independentTrialsEpsilon } from '../../src/audit/epsilon-bound.js';
import {
  assertClaimHolds,
  auditGaussianMechanism,
  gaussianSigma,
  PrivacyClaimViolated,
} from '../../src/audit/gaussian-audit.js';
import { gaussianEpsilon } from '../../src/accounting/index.js';

describe('epsilonFromCounts', () => {
  it('a perfect attack on n = 1000 per class: closed-form Clopper–Pearson ends', () => {
    // k = n: lower = (α/2)^(1/n); k = 0: upper = 1 − (α/2)^(1/n) (scipy: 0.003682083896865671).
    const lower = 0.025 ** (1 / 1000);
    const upper = 1 - lower;
    expect(upper).toBeCloseTo(0.003682083896865671, 15);
    const b = epsilonFromCounts({ truePositives: 1000, members: 1000, falsePositives: 0, nonMembers: 1000 }, 0);
    expect(b.epsilon).toBeCloseTo(Math.log(lower / upper), 9); // ≈ 5.6003
    expect(b.epsilon).toBeCloseTo(5.6003, 3);
  });

  it('δ is subtracted from the lower TPR; the other direction uses TNR / FNR', () => {
    const c = { truePositives: 1000, members: 1000, falsePositives: 0, nonMembers: 1000 };
    const lower = 0.025 ** (1 / 1000);
    expect(epsilonFromCounts(c, 0.1).epsilon).toBeCloseTo(Math.log((lower - 0.1) / (1 - lower)), 9);
    // Members rarely flagged, non-members always flagged: only the negative direction certifies.
    const inverted = epsilonFromCounts({ truePositives: 0, members: 1000, falsePositives: 1000, nonMembers: 1000 }, 0);
    expect(inverted.epsilon).toBe(0);
    // Every member flagged (FNR = 0), half the non-members too: the FNR side certifies more.
    const neg = epsilonFromCounts({ truePositives: 1000, members: 1000, falsePositives: 500, nonMembers: 1000 }, 0);
    expect(neg.direction).toBe('negative');
    const tnrLower = 0.46855; // scipy beta.ppf(0.025, 500, 501) = 0.4685491…
    expect(neg.epsilon).toBeCloseTo(Math.log(tnrLower / (1 - lower)), 3);
  });

  it('an attack no better than chance certifies nothing', () => {
    expect(
      epsilonFromCounts({ truePositives: 50, members: 100, falsePositives: 50, nonMembers: 100 }, 1e-5).epsilon,
    ).toBe(0);
  });

  it('rejects bad δ', () => {
    expect(() => epsilonFromCounts({ truePositives: 1, members: 2, falsePositives: 1, nonMembers: 2 }, 1)).toThrow(
      'delta must be in [0, 1), received 1',
    );
  });
});

describe('independentTrialsEpsilon', () => {
  it('names what it assumes; the old name is a deprecated alias of the same function', () => {
    expect(empiricalEpsilon).toBe(independentTrialsEpsilon);
    expect(independentTrialsEpsilon([1, 0, 1, 0], [1, 0, 1, 0], { delta: 0 }).analysis).toBe('independent-trials');
  });

  it('chooses the threshold on one half and certifies on the other', () => {
    const scores = [];
    const labels = [];
    for (let i = 0; i < 400; i++) {
      scores.push(i % 2 === 0 ? 1 : 0);
      labels.push(i % 2 === 0 ? 1 : 0);
    }
    const r = independentTrialsEpsilon(scores, labels, { delta: 0 });
    expect(r.counts).toEqual({ truePositives: 100, members: 100, falsePositives: 0, nonMembers: 100 });
    const lower = 0.025 ** (1 / 100);
    expect(r.epsilon).toBeCloseTo(Math.log(lower / (1 - lower)), 9);
  });
});

describe('auditing the Gaussian mechanism (fixed seeds)', () => {
  it('σ calibration is exact: the mechanism as calibrated has ε = the claim', () => {
    const sigma = gaussianSigma(1, 1e-5);
    expect(gaussianEpsilon(1 / sigma, 1e-5)).toBeCloseTo(1, 9);
  });

  it('the correct mechanism passes: audited bound below the claimed ε', () => {
    const r = auditGaussianMechanism({ epsilon: 1, delta: 1e-5, trials: 20000, seed: 3 });
    expect(r.violated).toBe(false);
    expect(r.audit.epsilon).toBeLessThan(1);
    expect(() => assertClaimHolds(r)).not.toThrow();
  });

  it('noise 10× too small is caught loudly: audited bound far above the claim', () => {
    const r = auditGaussianMechanism({ epsilon: 1, delta: 1e-5, noiseScale: 0.1, trials: 20000, seed: 3 });
    expect(r.violated).toBe(true);
    expect(r.audit.epsilon).toBeGreaterThan(3);
    expect(r.audit.epsilon).toBeLessThanOrEqual(r.trueEpsilon);
    expect(() => assertClaimHolds(r)).toThrow(PrivacyClaimViolated);
    expect(() => assertClaimHolds(r)).toThrow(/privacy claim violated: the mechanism claims ε = 1/);
  });

  it('rejects bad arguments', () => {
    expect(() => auditGaussianMechanism({ epsilon: 0, delta: 1e-5 })).toThrow(
      'epsilon must be a positive finite number, received 0',
    );
    expect(() => auditGaussianMechanism({ epsilon: 1, delta: 1e-5, noiseScale: -1 })).toThrow(
      'noiseScale must be a positive finite number, received -1',
    );
  });
});
