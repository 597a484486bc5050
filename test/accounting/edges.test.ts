// Issue 12 §2: the accountants are never silently wrong. Each reproduction of the issue is a
// regression test (on the old code: ε = 0, "PLD support is too wide", "Array buffer allocation
// failed", "Invalid typed array length", ε = Infinity where RDP is finite), then the coarse sweep.
import { describe, expect, it } from 'vitest';
import {
  calibrateNoiseMultiplier,
  computeEpsilon,
  gaussian,
  gaussianEpsilon,
  gaussianEpsilonBracket,
  maxSteps,
  laplace,
  pldEpsilon,
  poissonSampledGaussian,
  rdpEpsilon,
} from '../../src/accounting/index.js';
import {
  composePlds,
  deltaForEpsilon,
  discretize,
  epsilonForDelta,
  type DiscretePld,
} from '../../src/accounting/pld.js';
import { subsampledGaussianLoss } from '../../src/accounting/pld-loss.js';
import { accountingSweep, COARSE_SWEEP } from '../../src/bench/accounting-sweep.js';

const dpsgd = (q: number, s: number, t: number) => [
  { event: poissonSampledGaussian({ noiseMultiplier: s, sampleRate: q }), count: t },
];

describe('PLD accountant at the edges (issue 12 §2)', () => {
  it('q = 1, σ = 0.5, 1000 steps: the exact ε ≈ 2269, not 0 (closed form, Balle and Wang 2018)', () => {
    const r = computeEpsilon(dpsgd(1, 0.5, 1000), 1e-5, { accountant: 'pld' });
    const exact = gaussianEpsilonBracket(Math.sqrt(1000) / 0.5, 1e-5);
    expect(r.method).toBe('closed-form');
    expect(r.epsilon).toBeGreaterThanOrEqual(exact.lower);
    expect(r.epsilon).toBeLessThanOrEqual(exact.upper);
    expect(r.epsilon).toBeGreaterThan(2268);
    expect(r.epsilonLower).toBeLessThanOrEqual(r.epsilon);
  });

  it('several Gaussian events compose exactly too (μ² = Σ count/σ²)', () => {
    const history = [
      { event: gaussian({ noiseMultiplier: 2 }), count: 3 },
      { event: poissonSampledGaussian({ noiseMultiplier: 0.7, sampleRate: 1 }), count: 5 },
    ];
    const r = computeEpsilon(history, 1e-6, { accountant: 'pld' });
    expect(r.method).toBe('closed-form');
    expect(r.epsilon).toBe(gaussianEpsilon(Math.sqrt(3 / 4 + 5 / 0.49), 1e-6));
  });

  it('the grid path at q = 1 with ε > 709 (e^{−ℓ} underflows): never below the closed form, within 0.1%', () => {
    // σ = 1, T = 2000: the loss is N(1000, 2000), ε ≈ 1190. The old read-out returned ≈ 709.8.
    for (const [s, t, d] of [
      [1, 2000, 1e-5],
      [0.5, 1000, 1e-5],
    ] as const) {
      const exact = gaussianEpsilonBracket(Math.sqrt(t) / s, d);
      const r = pldEpsilon(dpsgd(1, s, t), d, { closedForm: false });
      expect(r.method).toBe('pld');
      expect(r.upper).toBeGreaterThanOrEqual(exact.lower);
      expect(r.lower).toBeLessThanOrEqual(exact.upper);
      expect(r.upper / exact.upper - 1).toBeLessThan(1e-3);
    }
  });

  it('ε read-out of a pmf with losses above 709: an atom at ℓ = 1000 gives ε = 1000 + log(1 − δ)', () => {
    const pld: DiscretePld = {
      discretization: 0.5,
      offset: 2000,
      probs: Float64Array.of(1),
      infinityMass: 0,
      deltaSlack: 0,
      pessimistic: true,
    };
    for (const delta of [1e-5, 0.3]) {
      const e = epsilonForDelta(pld, delta);
      expect(e).toBeCloseTo(1000 + Math.log1p(-delta), 9);
      expect(deltaForEpsilon(pld, e)).toBeCloseTo(delta, 12);
    }
    // All losses positive and ε below the lowest grid loss (the old read-out returned 0 here).
    const low: DiscretePld = { ...pld, offset: 4, probs: Float64Array.of(1) }; // an atom at ℓ = 2
    expect(epsilonForDelta(low, 0.5)).toBeCloseTo(2 + Math.log(0.5), 12);
  });

  it('q = 1, σ ∈ {0.3, 0.5}, 1e5–1e6 steps: finite and exact (was "PLD support is too wide")', () => {
    for (const s of [0.3, 0.5])
      for (const t of [100_000, 1_000_000]) {
        const r = computeEpsilon(dpsgd(1, s, t), 1e-5, { accountant: 'pld' });
        expect(r.method).toBe('closed-form');
        expect(r.epsilon).toBeGreaterThanOrEqual(gaussianEpsilonBracket(Math.sqrt(t) / s, 1e-5).lower);
        expect(r.epsilon).toBeLessThan(Infinity);
      }
  });

  it('q = 0.5, σ ∈ {0.3, 0.5}, 1e5–1e6 steps: a bounded grid, an interval below RDP (was OOM)', () => {
    for (const [s, t] of [
      [0.5, 100_000],
      [0.3, 1_000_000], // was "Invalid typed array length: -1073741823"
    ] as const) {
      const r = computeEpsilon(dpsgd(0.5, s, t), 1e-5, { accountant: 'pld' });
      const rdp = rdpEpsilon(dpsgd(0.5, s, t), 1e-5).epsilon;
      expect(r.method).toBe('pld');
      expect(r.epsilon).toBeLessThanOrEqual(rdp);
      expect(r.epsilonLower).toBeGreaterThan(0.99 * r.epsilon);
      // The grid was coarsened to fit its budget, not the other way round.
      expect(r.discretization).toBeGreaterThan(1e-4);
    }
  }, 60_000);

  it('q = 0.5, σ = 0.5, 1000 steps: ε ≈ 878, the interval contains the truth (was 709.8 from an overflow)', () => {
    const r = computeEpsilon(dpsgd(0.5, 0.5, 1000), 1e-5, { accountant: 'pld' });
    // The 'remove' direction's loss has mean ≈ 0.663/step and sd ≈ 1.55/step: ε must be far above
    // mean + 1 sd (663 + 49); a direct check: δ(ε) of the composition at 800 is ≫ 1e-5.
    expect(r.epsilonLower).toBeGreaterThan(850);
    expect(r.epsilon).toBeLessThanOrEqual(rdpEpsilon(dpsgd(0.5, 0.5, 1000), 1e-5).epsilon);
    const d = 1e-2;
    const pess = composePlds([{ pld: discretize(subsampledGaussianLoss(0.5, 0.5, 'remove'), d, true), count: 1000 }]);
    const opt = composePlds([{ pld: discretize(subsampledGaussianLoss(0.5, 0.5, 'remove'), d, false), count: 1000 }]);
    expect(deltaForEpsilon(opt, 800)).toBeGreaterThan(1e-3);
    expect(epsilonForDelta(pess, 1e-5)).toBeGreaterThanOrEqual(epsilonForDelta(opt, 1e-5));
  }, 30_000);

  it('δ = 1e-12 (1000 steps, q = 0.01, σ = 0.8): finite PLD ε below RDP 7.66 (was Infinity)', () => {
    const r = computeEpsilon(dpsgd(0.01, 0.8, 1000), 1e-12, { accountant: 'pld' });
    const rdp = rdpEpsilon(dpsgd(0.01, 0.8, 1000), 1e-12).epsilon;
    expect(r.method).toBe('pld');
    expect(r.fallback).toBeUndefined();
    expect(r.epsilon).toBeLessThan(rdp);
    expect(r.epsilonLower).toBeGreaterThan(0.99 * r.epsilon);
  }, 30_000);

  // The sweep found ε(T=1) 0.188 > ε(T=100) 0.058 here.
  it('tiny q at δ = 1e-12: one step is exact (no FFT), ε grows with T', () => {
    const eps = [1, 10, 100].map((t) => computeEpsilon(dpsgd(1e-5, 0.8, t), 1e-12, { accountant: 'pld' }));
    for (const r of eps) expect(r.method).toBe('pld');
    // Sound monotonicity: the truth at T is ≤ the truth at T' > T, so lower(T) ≤ upper(T').
    expect(eps[0]!.epsilonLower!).toBeLessThanOrEqual(eps[1]!.epsilon);
    expect(eps[1]!.epsilonLower!).toBeLessThanOrEqual(eps[2]!.epsilon);
    expect(eps[0]!.epsilon).toBeLessThanOrEqual(eps[2]!.epsilon);
    // One step is read without FFT, and at T = 100 the tilted composition is tight.
    for (const r of [eps[0]!, eps[2]!]) expect(r.epsilonLower!).toBeGreaterThan(0.75 * r.epsilon);
  }, 30_000);

  it('falls back to the RDP bound, flagged, when it is tighter than a (deliberately coarse) PLD grid', () => {
    const h = dpsgd(0.01, 1, 1000);
    const r = computeEpsilon(h, 1e-5, { accountant: 'pld', gridBudget: 16, discretization: 0.1 });
    const rdp = rdpEpsilon(h, 1e-5);
    expect(r.method).toBe('rdp');
    expect(r.fallback).toMatch(/RDP bound is below the PLD upper bound/);
    expect(r.epsilon).toBe(rdp.epsilon);
    expect(r.optimalOrder).toBe(rdp.order);
  });

  it('every report names its method (RDP, PLD, closed form, Laplace)', () => {
    expect(computeEpsilon(dpsgd(0.01, 1, 100), 1e-5).method).toBe('rdp');
    expect(computeEpsilon(dpsgd(0.01, 1, 100), 1e-5, { accountant: 'pld' }).method).toBe('pld');
    const pld = { accountant: 'pld' } as const;
    expect(computeEpsilon([{ event: laplace({ noiseMultiplier: 2 }), count: 3 }], 1e-5, pld).method).toBe('pld');
    const g = [{ event: gaussian({ noiseMultiplier: 2 }), count: 3 }];
    expect(computeEpsilon(g, 1e-5, pld).method).toBe('closed-form');
    const c = calibrateNoiseMultiplier({ epsilon: 2, delta: 1e-5, sampleRate: 1, steps: 10, accountant: 'pld' });
    expect(c.method).toBe('closed-form');
    expect(c.epsilon).toBeLessThanOrEqual(2);
  });

  it('RDP: q = 1, tiny σ, large orders stay finite and above the exact ε', () => {
    for (const [q, s, t] of [
      [1, 0.3, 1_000_000],
      [1, 0.01, 10],
      [0.5, 0.3, 1_000_000],
      [1e-5, 20, 1],
    ] as const) {
      const r = computeEpsilon(dpsgd(q, s, t), 1e-12);
      expect(Number.isFinite(r.epsilon)).toBe(true);
      if (q === 1) expect(r.epsilon).toBeGreaterThanOrEqual(gaussianEpsilon(Math.sqrt(t) / s, 1e-12));
    }
  });

  it('coarse sweep: no NaN, no unflagged ∞, RDP ≥ PLD lower, ≥ closed form, monotone, round-trips', () => {
    const s = accountingSweep(COARSE_SWEEP);
    expect(s.violations).toEqual([]);
    expect(s.queries).toBe(16);
    expect(s.worstClosedFormGap).toBeLessThan(1e-2);
  }, 120_000);

  it('maxSteps (RDP) returns the largest fitting step count (the gallop once hung at a stride of 0)', () => {
    const r = maxSteps({ noiseMultiplier: 1.2, sampleRate: 0.01, epsilon: 1, delta: 1e-5 });
    expect(r.epsilon).toBeLessThanOrEqual(1);
    expect(rdpEpsilon(dpsgd(0.01, 1.2, r.steps), 1e-5).epsilon).toBeLessThanOrEqual(1);
    expect(rdpEpsilon(dpsgd(0.01, 1.2, r.steps + 1), 1e-5).epsilon).toBeGreaterThan(1);
  }, 60_000);
});
