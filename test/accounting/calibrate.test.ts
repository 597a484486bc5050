// Issue 14: one σ calibration over any event family (accounting's calibrate), and the pins of
// calibrateNoiseMultiplier measured before it (bit for bit).
import { describe, expect, it } from 'vitest';
import {
  calibrate,
  calibrateNoiseMultiplier,
  composed,
  computeEpsilon,
  gaussian,
  gaussianDelta,
  laplace,
  poissonSampledGaussian,
  sampledWithoutReplacementGaussian,
  selfComposed,
  type DpEvent,
} from '../../src/accounting/index.js';

const delta = 1e-5;
const epsAt = (event: DpEvent, accountant: 'rdp' | 'pld' = 'rdp') =>
  computeEpsilon([{ event, count: 1 }], delta, { accountant }).epsilon;

/** The analytic Gaussian calibration (Balle and Wang 2018): bisection on μ = 1/σ against the exact δ(ε). */
function analyticSigma(epsilon: number, d: number): number {
  let lo = 0;
  let hi = 1;
  while (gaussianDelta(hi, epsilon) < d) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (gaussianDelta(mid, epsilon) <= d) lo = mid;
    else hi = mid;
  }
  return 1 / lo;
}

describe('calibrate', () => {
  it('matches the closed-form analytic Gaussian calibration under PLD (exact ε)', () => {
    for (const eps of [0.1, 1, 4]) {
      const exact = analyticSigma(eps, delta);
      const r = calibrate({
        eventOf: (s) => gaussian({ noiseMultiplier: s }),
        targetEpsilon: eps,
        delta,
        accountant: 'pld',
        tolerance: 1e-10,
      });
      expect(r.report.method).toBe('closed-form');
      expect(r.epsilon).toBeLessThanOrEqual(eps);
      expect(r.noiseMultiplier).toBeGreaterThanOrEqual(exact * (1 - 1e-12));
      expect(r.noiseMultiplier / exact - 1).toBeLessThan(1e-10);
    }
  });

  it('Poisson-subsampled: agrees with calibrateNoiseMultiplier to the tolerance, on the private side', () => {
    const q = 0.01;
    const t = 1000;
    const r = calibrate({
      eventOf: (s) => selfComposed(poissonSampledGaussian({ noiseMultiplier: s, sampleRate: q }), t),
      targetEpsilon: 2,
      delta,
    });
    const c = calibrateNoiseMultiplier({ epsilon: 2, delta, sampleRate: q, steps: t });
    expect(r.epsilon).toBeLessThanOrEqual(2);
    expect(Math.abs(r.noiseMultiplier / c.noiseMultiplier - 1)).toBeLessThan(2e-3);
    // Just below the returned σ (beyond the tolerance) the target fails: it is the smallest to the tolerance.
    const smaller = poissonSampledGaussian({ noiseMultiplier: r.noiseMultiplier * (1 - 2e-3), sampleRate: q });
    const below = selfComposed(smaller, t);
    expect(epsAt(below)).toBeGreaterThan(2);
  });

  it('sampled without replacement and a composed heterogeneous event', () => {
    const swor = (s: number) =>
      selfComposed(sampledWithoutReplacementGaussian({ noiseMultiplier: s, sampleSize: 10, datasetSize: 100 }), 50);
    const a = calibrate({ eventOf: swor, targetEpsilon: 3, delta });
    expect(a.epsilon).toBeLessThanOrEqual(3);
    expect(epsAt(swor(a.noiseMultiplier * (1 - 2e-3)))).toBeGreaterThan(3);
    const mixed = (s: number) =>
      composed([
        selfComposed(poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.05 }), 200),
        gaussian({ noiseMultiplier: 4 * s }),
        laplace({ noiseMultiplier: 20 }),
      ]);
    for (const accountant of ['rdp', 'pld'] as const) {
      const b = calibrate({ eventOf: mixed, targetEpsilon: 4, delta, accountant });
      expect(b.epsilon).toBeLessThanOrEqual(4);
      expect(b.epsilon).toBe(epsAt(mixed(b.noiseMultiplier), accountant));
      expect(epsAt(mixed(b.noiseMultiplier * (1 - 3e-3)), accountant)).toBeGreaterThan(4);
    }
  });

  it('is monotone in the target and never returns the wrong side', () => {
    const ev = (s: number) => selfComposed(poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.02 }), 300);
    let prev = Infinity;
    for (const eps of [0.5, 1, 2, 4, 8]) {
      for (const tolerance of [0.5, 1e-2, 1e-6]) {
        const r = calibrate({ eventOf: ev, targetEpsilon: eps, delta, tolerance });
        expect(epsAt(ev(r.noiseMultiplier))).toBeLessThanOrEqual(eps);
        expect(r.epsilon).toBeLessThanOrEqual(eps);
      }
      const r = calibrate({ eventOf: ev, targetEpsilon: eps, delta });
      expect(r.noiseMultiplier).toBeLessThan(prev);
      prev = r.noiseMultiplier;
    }
  });

  it('a given bracket is widened as needed and gives the same side', () => {
    const ev = (s: number) => gaussian({ noiseMultiplier: s });
    for (const bracket of [
      [0.01, 0.02],
      [100, 200],
      [1, 10],
    ] as const) {
      const r = calibrate({ eventOf: ev, targetEpsilon: 1, delta, bracket, accountant: 'pld' });
      expect(r.epsilon).toBeLessThanOrEqual(1);
      expect(r.noiseMultiplier / analyticSigma(1, delta) - 1).toBeLessThan(1e-3);
    }
  });

  it('edges: unreachable targets, huge targets, bad event functions and options are typed errors', () => {
    // A fixed Laplace part bounds ε from below whatever σ is: ε = 1/b = 0.5 > target.
    const floor = (s: number) => composed([gaussian({ noiseMultiplier: s }), laplace({ noiseMultiplier: 2 })]);
    expect(() => calibrate({ eventOf: floor, targetEpsilon: 0.4, delta })).toThrow(
      expect.objectContaining({
        code: 'ERR_DPFL_INVALID_ARGUMENT',
        message: expect.stringMatching(/^targetEpsilon must be reachable/),
      }),
    );
    // A huge target: a tiny σ, still on the private side.
    const big = calibrate({ eventOf: (s) => gaussian({ noiseMultiplier: s }), targetEpsilon: 1e4, delta });
    expect(big.epsilon).toBeLessThanOrEqual(1e4);
    expect(big.noiseMultiplier).toBeLessThan(0.1);
    const base = { eventOf: (s: number) => gaussian({ noiseMultiplier: s }), targetEpsilon: 1, delta };
    const bad = (o: object, re: RegExp) => expect(() => calibrate({ ...base, ...o } as never)).toThrow(re);
    const boom = () => {
      throw new Error('boom');
    };
    bad({ eventOf: boom }, /eventOf must be a function that returns an event \(it threw at σ = 1: Error: boom\)/);
    bad({ eventOf: () => ({ kind: 'nope' }) }, /eventOf\(1\)/);
    bad({ eventOf: 3 }, /eventOf must be a function/);
    bad({ targetEpsilon: 0 }, /targetEpsilon must be a finite number > 0/);
    bad({ delta: 1 }, /delta must be in \(0, 1\)/);
    bad({ tolerance: 0.6 }, /tolerance must be in \[1e-12, 0.5\]/);
    bad({ tolerance: 1e-13 }, /tolerance must be in \[1e-12, 0.5\]/);
    bad({ accountant: 'x' }, /accountant must be "rdp" or "pld"/);
    bad({ bracket: [2, 1] }, /bracket must be finite with lo < hi/);
    bad({ bracket: [1] }, /bracket must be a pair/);
    expect(() => calibrate(null as never)).toThrow(/options/);
  });
});

describe('calibrateNoiseMultiplier: pinned before the generic calibrate (bit for bit)', () => {
  const pins: Array<[Parameters<typeof calibrateNoiseMultiplier>[0], number, number]> = [
    [{ epsilon: 1, delta: 1e-5, sampleRate: 0.01, steps: 1000 }, 1.5134335055038406, 0.9996406878990477],
    [{ epsilon: 3, delta: 1e-5, sampleRate: 0.04, steps: 250 }, 1.2679701676173076, 2.999141131488078],
    [{ epsilon: 8, delta: 1e-6, sampleRate: 0.1, steps: 50, tolerance: 1e-4 }, 0.9160684854321062, 7.993755701291686],
    [{ epsilon: 2, delta: 1e-5, sampleRate: 1, steps: 10, accountant: 'pld' }, 6.30499276975978, 1.9999985070380668],
    [
      { epsilon: 3, delta: 1e-5, sampleRate: 0.02, steps: 300, accountant: 'pld' },
      0.876256102512942,
      2.999159159945224,
    ],
  ];
  for (const [options, sigma, epsilon] of pins) {
    it(JSON.stringify(options), () => {
      const r = calibrateNoiseMultiplier(options);
      expect(r.noiseMultiplier).toBe(sigma);
      expect(r.epsilon).toBe(epsilon);
    });
  }
});
