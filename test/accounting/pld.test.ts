import { describe, expect, it } from 'vitest';
import {
  gaussian,
  gaussianEpsilon,
  laplace,
  pldEpsilon,
  poissonSampledGaussian,
  rdpEpsilon,
} from '../../src/accounting/index.js';
import { composePlds, discretize, epsilonForDelta } from '../../src/accounting/pld.js';
import { laplaceLoss, subsampledGaussianLoss } from '../../src/accounting/pld-loss.js';
import { rng } from './helpers.js';

const dpsgd = (q: number, s: number, t: number) => [
  { event: poissonSampledGaussian({ noiseMultiplier: s, sampleRate: q }), count: t },
];

describe('PLD accountant', () => {
  it('q = 1: the interval contains the exact ε of the composed Gaussian (Balle and Wang 2018) and is tight', () => {
    for (const [s, t, d] of [
      [1, 1, 1e-5],
      [10, 100, 1e-5],
      [0.8, 3, 1e-3],
      [2, 1000, 1e-9],
    ] as const) {
      const exact = gaussianEpsilon(Math.sqrt(t) / s, d);
      const r = pldEpsilon(dpsgd(1, s, t), d);
      expect(r.upper, `σ=${s} T=${t}`).toBeGreaterThanOrEqual(exact);
      expect(r.lower).toBeLessThanOrEqual(exact);
      expect(r.upper / exact - 1).toBeLessThan(1e-4);
    }
  });

  it('Laplace: contains the exact ε of one Laplace step (δ(ε) = 1 − e^{(ε − 1/b)/2})', () => {
    for (const b of [0.5, 1, 3]) {
      const e0 = 1 / b;
      const d = 1e-3;
      const exact = e0 + 2 * Math.log1p(-d); // solves 1 − e^{(ε − ε₀)/2} = δ
      const r = pldEpsilon([{ event: laplace({ noiseMultiplier: b }), count: 1 }], d);
      expect(r.upper).toBeGreaterThanOrEqual(exact - 1e-12);
      expect(r.lower).toBeLessThanOrEqual(exact + 1e-12);
      expect(r.upper - exact).toBeLessThan(1e-3);
    }
  });

  it('classic point (q = 256/60000, σ = 1.1, 60 epochs, δ = 1e-5): upper converges, interval narrows, below RDP', () => {
    const hist = dpsgd(256 / 60000, 1.1, Math.ceil((60 * 60000) / 256));
    const coarse = pldEpsilon(hist, 1e-5, { discretization: 1e-4 });
    const fine = pldEpsilon(hist, 1e-5, { discretization: 2e-5 });
    // The default grid is within 0.01% of the 5× finer one (the bar is 1%).
    expect(Math.abs(coarse.upper / fine.upper - 1)).toBeLessThan(1e-4);
    expect(fine.lower).toBeLessThanOrEqual(coarse.upper);
    expect(coarse.lower).toBeLessThanOrEqual(fine.upper);
    expect(fine.upper - fine.lower).toBeLessThan(coarse.upper - coarse.lower);
    expect(coarse.upper - coarse.lower).toBeLessThan(0.05);
    expect(coarse.upper).toBeLessThan(rdpEpsilon(hist, 1e-5).epsilon);
    expect(coarse.upper).toBeGreaterThan(2.3);
    expect(coarse.upper).toBeLessThan(2.45);
  });

  it('the concentration lower bound is not below the rounding-down (optimistic) composition by much, and both are ≤ upper', () => {
    const q = 0.01;
    const s = 1;
    const T = 2000;
    const d = 1e-4;
    const opt = ['remove', 'add'].map((dir) =>
      epsilonForDelta(
        composePlds([{ pld: discretize(subsampledGaussianLoss(q, s, dir as 'remove' | 'add'), d, false), count: T }]),
        1e-6,
      ),
    );
    const r = pldEpsilon(dpsgd(q, s, T), 1e-6, { discretization: d });
    expect(Math.max(...opt)).toBeLessThanOrEqual(r.upper);
    expect(r.lower).toBeLessThanOrEqual(r.upper);
    expect(r.lower).toBeGreaterThan(Math.max(...opt) - 0.05);
  });

  it('discretisation: pessimistic pmf keeps mass and E[e^{-L}] (connect the dots), optimistic keeps mass', () => {
    for (const model of [
      subsampledGaussianLoss(0.05, 0.9, 'remove'),
      subsampledGaussianLoss(0.05, 0.9, 'add'),
      laplaceLoss(0.7),
    ]) {
      const p = discretize(model, 1e-3, true);
      let mass = p.infinityMass;
      let expNeg = 0;
      p.probs.forEach((v, j) => {
        mass += v;
        expNeg += v * Math.exp(-(p.offset + j) * 1e-3);
      });
      expect(mass).toBeCloseTo(1, 12);
      expect(expNeg).toBeLessThanOrEqual(1 + 1e-12);
      expect(expNeg).toBeGreaterThan(1 - 1e-9);
      const o = discretize(model, 1e-3, false);
      expect(o.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  });

  it('heterogeneous composition: Gaussians merge exactly; a mixed ledger sits between its extremes', () => {
    const merged = pldEpsilon(
      [
        { event: gaussian({ noiseMultiplier: 3 }), count: 1 },
        { event: gaussian({ noiseMultiplier: 4 }), count: 1 },
      ],
      1e-5,
    );
    const exact = gaussianEpsilon(Math.sqrt(1 / 9 + 1 / 16), 1e-5);
    expect(merged.upper).toBeGreaterThanOrEqual(exact);
    expect(merged.upper / exact - 1).toBeLessThan(1e-4);
    const a = pldEpsilon(dpsgd(0.01, 1, 500), 1e-5).upper;
    const b = pldEpsilon(dpsgd(0.01, 2, 500), 1e-5).upper;
    const mix = pldEpsilon(
      [
        { event: poissonSampledGaussian({ noiseMultiplier: 1, sampleRate: 0.01 }), count: 250 },
        { event: poissonSampledGaussian({ noiseMultiplier: 2, sampleRate: 0.01 }), count: 250 },
      ],
      1e-5,
    ).upper;
    expect(mix).toBeLessThan(a);
    expect(mix).toBeGreaterThan(b);
  });

  it('properties on random parameters: lower ≤ upper ≤ RDP, monotone in σ and T (seeded)', () => {
    const r = rng(4242);
    for (let i = 0; i < 5; i++) {
      const q = 10 ** (-3 + 2 * r());
      const s = 0.7 + 2 * r();
      const t = Math.round(10 ** (1 + 2.5 * r()));
      const d = 1e-5;
      const e = pldEpsilon(dpsgd(q, s, t), d, { discretization: 2e-4 });
      expect(e.lower).toBeLessThanOrEqual(e.upper);
      expect(e.upper).toBeLessThanOrEqual(rdpEpsilon(dpsgd(q, s, t), d).epsilon + 1e-9);
      expect(
        pldEpsilon(dpsgd(q, s * 1.1, t), d, { discretization: 2e-4, lowerBound: false }).upper,
      ).toBeLessThanOrEqual(e.upper);
      expect(
        pldEpsilon(dpsgd(q, s, t * 2), d, { discretization: 2e-4, lowerBound: false }).upper,
      ).toBeGreaterThanOrEqual(e.upper);
    }
  });

  it('extremes: tiny q, σ = 0.5, 1e5 steps stay finite and ordered', () => {
    const tiny = pldEpsilon(dpsgd(1e-5, 1, 100000), 1e-5);
    expect(tiny.upper).toBeGreaterThan(0);
    expect(tiny.upper).toBeLessThanOrEqual(rdpEpsilon(dpsgd(1e-5, 1, 100000), 1e-5).epsilon);
    const small = pldEpsilon(dpsgd(0.01, 0.5, 1000), 1e-5);
    expect(Number.isFinite(small.upper)).toBe(true);
    expect(small.lower).toBeLessThanOrEqual(small.upper);
    expect(small.upper).toBeLessThanOrEqual(rdpEpsilon(dpsgd(0.01, 0.5, 1000), 1e-5).epsilon);
  });
});
