import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RDP_ORDERS,
  epsilonAtOrderClassic,
  epsilonFromRdp,
  gaussianEpsilon,
  poissonSampledGaussian,
  rdpEpsilon,
  rdpLaplace,
  rdpPoissonGaussian,
  rdpSampledWithoutReplacementGaussian,
  selfComposed,
  composed,
  gaussian,
} from '../../src/accounting/index.js';
import { logAByIntegration, rng } from './helpers.js';

const dpsgd = (q: number, s: number, t: number) => [
  { event: poissonSampledGaussian({ noiseMultiplier: s, sampleRate: q }), count: t },
];

describe('RDP of the Poisson-subsampled Gaussian', () => {
  it('matches dp_accounting at integer orders (rdp_privacy_accountant_test.py, test_compute_rdp_poisson_sampled_gaussian)', () => {
    // q = 0.01, σ = 2.5, 50 steps; published RDP at orders 5, 50, 100 (rtol 1e-4 in the source).
    const published: Array<[number, number]> = [
      [5, 2.18075656e-3],
      [50, 2.38460375e-2],
      [100, 1.67416308e2],
    ];
    for (const [a, v] of published) expect(Math.abs(50 * rdpPoissonGaussian(0.01, 2.5, a) - v) / v).toBeLessThan(1e-7);
  });

  it('is tighter than dp_accounting at fractional orders, where it sums absolute values of the series', () => {
    // Same test: dp_accounting publishes 6.70579741e-4 (α = 1.5) and 1.08548710e-3 (α = 2.5); the exact
    // values (numerical integration, below) are smaller — by 3% at α = 1.5.
    const at15 = 50 * rdpPoissonGaussian(0.01, 2.5, 1.5);
    const at25 = 50 * rdpPoissonGaussian(0.01, 2.5, 2.5);
    expect(at15).toBeLessThan(6.70579741e-4 * 0.98);
    expect(at25).toBeLessThan(1.0854871e-3);
    expect(Math.abs(at15 / 50 - logAByIntegration(0.01, 2.5, 1.5) / 0.5) / (at15 / 50)).toBeLessThan(1e-6);
  });

  it('equals numerical integration of A_α at fractional and integer orders, including the extremes', () => {
    // The parameter set of dp_accounting's test_compute_log_a_equals_mp, plus small σ and q near 1.
    const cases: Array<[number, number, number]> = [
      [1e-7, 0.1, 1.01],
      [1e-6, 0.1, 256],
      [1e-5, 0.1, 256.1],
      [1e-6, 1, 27],
      [1e-4, 1, 1.5],
      [1e-3, 1, 2],
      [0.01, 10, 20],
      [0.1, 100, 20.5],
      [0.99, 0.1, 256],
      [0.999, 100, 256.1],
      [0.1, 0.5, 3.3],
      [0.5, 0.3, 1.7],
      [0.003, 1.1, 17.37],
      [0.01, 0.5, 7.5],
      [0.9, 0.8, 2.25],
    ];
    for (const [q, s, a] of cases) {
      const mine = rdpPoissonGaussian(q, s, a) * (a - 1);
      const ref = logAByIntegration(q, s, a);
      // Relative 1e-6 on log A_α, or absolute 1e-12 when log A_α itself is tiny.
      expect(Math.abs(mine - ref), `q=${q} σ=${s} α=${a}: ${mine} vs ${ref}`).toBeLessThan(
        Math.max(1e-6 * Math.abs(ref), 1e-12),
      );
    }
  });

  it('random parameters: fractional orders agree with integration (seeded)', () => {
    const r = rng(20240601);
    for (let i = 0; i < 12; i++) {
      const q = 10 ** (-4 + 4 * r());
      const s = 0.4 + 4 * r();
      const a = 1.05 + 30 * r();
      const mine = rdpPoissonGaussian(q, s, a) * (a - 1);
      const ref = logAByIntegration(q, s, a);
      expect(Math.abs(mine - ref), `q=${q} σ=${s} α=${a}`).toBeLessThan(Math.max(1e-6 * Math.abs(ref), 1e-12));
    }
  });

  it('stays finite for 1e6 steps, small σ, large orders and q near 1', () => {
    const e = rdpEpsilon(dpsgd(0.999999, 0.5, 1_000_000), 1e-5);
    expect(Number.isFinite(e.epsilon)).toBe(true);
    expect(e.epsilon).toBeGreaterThan(0);
    expect(Number.isFinite(rdpPoissonGaussian(1e-9, 0.3, 4096))).toBe(true);
  });
});

describe('(ε, δ) from RDP', () => {
  it('reproduces TF Privacy compute_dp_sgd_privacy_test.py with its orders', () => {
    // (n, batch, σ, epochs, δ) → (ε, optimal order), published in tensorflow/privacy
    // tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py (dp_accounting conversion).
    const orders = [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5];
    for (let a = 5; a < 64; a++) orders.push(a);
    orders.push(128, 256, 512);
    const cases: Array<[number, number, number, number, number, number, number]> = [
      [60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19],
      [100000, 100, 1.0, 30, 1e-7, 1.4154988495444845, 13],
      [100000000, 1024, 0.1, 10, 1e-7, 5907982.31138195, 1.25],
    ];
    for (const [n, b, s, ep, d, eps, order] of cases) {
      const steps = Math.ceil((ep * n) / b);
      const r = rdpEpsilon(dpsgd(b / n, s, steps), d, { orders, refine: false });
      expect(Math.abs(r.epsilon - eps) / eps).toBeLessThan(1e-9);
      expect(r.order).toBe(order);
    }
  });

  it('reproduces the TF Privacy tutorial figure ε = 3.01 for the classic MNIST point (classic conversion)', () => {
    // tensorflow/privacy tutorials/README.md: N = 60000, batch 256, σ = 1.1, 60 epochs, δ = 1e-5 → "eps = 3.01",
    // computed with orders 1.1…10.9, 12…63 and Mironov 2017 Prop. 3 (ε = ε(α) − log δ/(α − 1)).
    const orders: number[] = [];
    for (let x = 1; x < 100; x++) orders.push(1 + x / 10);
    for (let a = 12; a < 64; a++) orders.push(a);
    const steps = Math.ceil((60 * 60000) / 256);
    const q = 256 / 60000;
    const classic = Math.min(
      ...orders.map((a) => epsilonAtOrderClassic(a, steps * rdpPoissonGaussian(q, 1.1, a), 1e-5)),
    );
    expect(classic.toFixed(2)).toBe('3.01');
    // The tighter conversion (Canonne–Kamath–Steinke 2020 Prop. 12) and our richer, refined orders do better.
    const tight = rdpEpsilon(dpsgd(q, 1.1, steps), 1e-5);
    expect(tight.epsilon).toBeLessThan(2.6);
    expect(tight.epsilon).toBeGreaterThan(2.55);
  });

  it('is at least as tight as dp_accounting on its own orders (refinement only helps)', () => {
    const dpAccountingOrders: number[] = [];
    for (let x = 1; x < 100; x++) dpAccountingOrders.push(1 + x / 10);
    for (let a = 11; a < 64; a++) dpAccountingOrders.push(a);
    dpAccountingOrders.push(128, 256, 512, 1024);
    const r = rng(7);
    for (let i = 0; i < 10; i++) {
      const q = 10 ** (-3.5 + 3 * r());
      const s = 0.5 + 3 * r();
      const t = Math.round(10 ** (1 + 4 * r()));
      const theirs = rdpEpsilon(dpsgd(q, s, t), 1e-5, { orders: dpAccountingOrders, refine: false }).epsilon;
      const ours = rdpEpsilon(dpsgd(q, s, t), 1e-5).epsilon;
      expect(ours).toBeLessThanOrEqual(theirs * (1 + 1e-12));
    }
  });

  it('q = 1: never below the exact ε of the composed Gaussian (Balle and Wang 2018 closed form)', () => {
    for (const [s, t] of [
      [1, 1],
      [4.530877117, 1], // dp_accounting: σ chosen to give exactly (1, 1e-6)-DP (test_compute_epsilon_delta_gaussian)
      [0.5, 10],
      [10, 1000],
      [2, 100000],
    ] as const) {
      const mu = Math.sqrt(t) / s;
      for (const d of [1e-3, 1e-6]) {
        const exact = gaussianEpsilon(mu, d);
        const e = rdpEpsilon(dpsgd(1, s, t), d).epsilon;
        expect(e).toBeGreaterThanOrEqual(exact);
        expect(e).toBeLessThan(exact * 1.35 + 0.05);
      }
    }
    // dp_accounting test_compute_epsilon_delta_gaussian: with orders 1.000…99.999 (step 0.001), σ = 4.530877117
    // gives ε = 1 at δ = 1e-6 (assertAlmostEqual, 7 places).
    const fine = Array.from({ length: 99000 }, (_, i) => 0.001 * (i + 1000)).filter((a) => a > 1);
    expect(rdpEpsilon(dpsgd(1, 4.530877117, 1), 1e-6, { orders: fine, refine: false }).epsilon).toBeCloseTo(1, 7);
  });

  it('epsilonFromRdp handles pure DP as dp_accounting (test_compute_epsilon_delta_pure_dp)', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const r = epsilonFromRdp(
      orders,
      orders.map(() => 1.1),
      1e-5,
    );
    expect(r.epsilon).toBeCloseTo(1.32783806176, 10);
    expect(r.order).toBe(32);
  });

  it('properties on random parameters: ε decreases in σ, increases in T and q', () => {
    const r = rng(99);
    for (let i = 0; i < 15; i++) {
      const q = 10 ** (-4 + 3.5 * r());
      const s = 0.5 + 4 * r();
      const t = Math.round(10 ** (1 + 4 * r()));
      const d = 10 ** (-9 + 6 * r());
      const e = rdpEpsilon(dpsgd(q, s, t), d).epsilon;
      expect(rdpEpsilon(dpsgd(q, s * 1.05, t), d).epsilon).toBeLessThanOrEqual(e);
      expect(rdpEpsilon(dpsgd(q, s, Math.ceil(t * 1.5)), d).epsilon).toBeGreaterThanOrEqual(e);
      expect(rdpEpsilon(dpsgd(Math.min(1, q * 1.5), s, t), d).epsilon).toBeGreaterThanOrEqual(e);
    }
  });
});

describe('other mechanisms and composition', () => {
  it('Laplace: tends to pure ε = 1/b at large orders and to KL near 1 (Mironov 2017 Prop. 6)', () => {
    expect(rdpLaplace(1, 1e10)).toBeCloseTo(1, 6);
    expect(rdpLaplace(2, 2)).toBeCloseTo(Math.log((2 / 3) * Math.exp(0.5) + (1 / 3) * Math.exp(-1)), 12);
  });

  it('sampling without replacement: Gaussian at γ = 1, increasing in γ, and a valid bound vs the order-2 exact value', () => {
    expect(rdpSampledWithoutReplacementGaussian(1, 2, 7)).toBeCloseTo(7 / 8, 12);
    expect(rdpSampledWithoutReplacementGaussian(0.01, 1, 10)).toBeLessThan(
      rdpSampledWithoutReplacementGaussian(0.02, 1, 10),
    );
    // Fractional orders interpolate (α−1)ε(α) between integers: an upper bound of the convex curve.
    const e25 = rdpSampledWithoutReplacementGaussian(0.01, 1, 2.5);
    expect(e25 * 1.5).toBeCloseTo(
      0.5 * rdpSampledWithoutReplacementGaussian(0.01, 1, 2) +
        0.5 * 2 * rdpSampledWithoutReplacementGaussian(0.01, 1, 3),
      12,
    );
  });

  it('composition is additive: self-composed, composed and counts agree', () => {
    const e = poissonSampledGaussian({ noiseMultiplier: 1.3, sampleRate: 0.02 });
    const a = rdpEpsilon([{ event: e, count: 600 }], 1e-6).epsilon;
    const b = rdpEpsilon([{ event: selfComposed(e, 200), count: 3 }], 1e-6).epsilon;
    const c = rdpEpsilon([{ event: composed([selfComposed(e, 100), selfComposed(e, 500)]), count: 1 }], 1e-6).epsilon;
    expect(b).toBe(a);
    expect(c).toBe(a);
    // Heterogeneous: a noise schedule sits between its extremes.
    const lo = rdpEpsilon(
      [{ event: poissonSampledGaussian({ noiseMultiplier: 2, sampleRate: 0.02 }), count: 600 }],
      1e-6,
    ).epsilon;
    const mixed = rdpEpsilon(
      [
        { event: poissonSampledGaussian({ noiseMultiplier: 2, sampleRate: 0.02 }), count: 300 },
        { event: e, count: 300 },
      ],
      1e-6,
    ).epsilon;
    expect(mixed).toBeGreaterThan(lo);
    expect(mixed).toBeLessThan(a);
    // Gaussians compose to the Gaussian of the summed precisions.
    const g = rdpEpsilon(
      [{ event: composed([gaussian({ noiseMultiplier: 3 }), gaussian({ noiseMultiplier: 4 })]), count: 1 }],
      1e-5,
    ).epsilon;
    expect(g).toBeCloseTo(rdpEpsilon([{ event: gaussian({ noiseMultiplier: 12 / 5 }), count: 1 }], 1e-5).epsilon, 9);
  });

  it('default orders are a superset of dp_accounting DEFAULT_RDP_ORDERS', () => {
    const theirs: number[] = [];
    for (let x = 1; x < 100; x++) theirs.push(1 + x / 10);
    for (let a = 11; a < 64; a++) theirs.push(a);
    theirs.push(128, 256, 512, 1024);
    for (const a of theirs) expect(DEFAULT_RDP_ORDERS.some((b) => Math.abs(a - b) < 1e-9)).toBe(true);
  });
});
