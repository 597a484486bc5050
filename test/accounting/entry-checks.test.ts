// The accounting entry points refuse hostile arguments with typed errors (issue 12 §6), and every
// RDP order costs bounded time: the fuzzer's two hangs at α = 1e15 are regression-tested here.
import { describe, expect, it } from 'vitest';
import {
  Accountant,
  BudgetExceededError,
  calibrateNoiseMultiplier,
  computeEpsilon,
  deltaFromRdp,
  epsilonAtOrder,
  epsilonFromRdp,
  gaussian,
  gaussianDelta,
  gaussianMu,
  maxSteps,
  pldDelta,
  pldEpsilon,
  poissonSampledGaussian,
  rdpCurve,
  rdpEpsilon,
  rdpGaussian,
  rdpMaxSteps,
  rdpPoissonGaussian,
  rdpSampledWithoutReplacementGaussian,
  sampledWithoutReplacementGaussian,
  validateEvent,
} from '../../src/accounting/index.js';
import { MAX_EXACT_ORDER } from '../../src/accounting/rdp.js';

/** An object whose conversion to a primitive throws (the fuzzer's hostile values do the same). */
const hostile = {
  [Symbol.toPrimitive]: () => {
    throw new Error('converted');
  },
};

function codeOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return (e as { code?: unknown }).code;
  }
  return 'returned';
}

describe('RDP at huge orders: bounded time, a valid upper bound', () => {
  it('rdpPoissonGaussian(0.5, 1, 1e15) returns the Gaussian bound α/(2σ²) instead of summing 1e15 terms', () => {
    expect(rdpPoissonGaussian(0.5, 1, 1e15)).toBe(1e15 / 2);
    expect(rdpPoissonGaussian(0.5, 1, 1e15 + 0.5)).toBe((1e15 + 0.5) / 2);
  });

  it('rdpSampledWithoutReplacementGaussian(0.5, 1, 1e15) likewise', () => {
    expect(rdpSampledWithoutReplacementGaussian(0.5, 1, 1e15)).toBe(1e15 / 2);
    expect(rdpSampledWithoutReplacementGaussian(0.5, 1, 1e15 + 0.5)).toBe((1e15 + 0.5) / 2);
  });

  it('the switch to the bound at MAX_EXACT_ORDER keeps ε(α) non-decreasing and below the Gaussian', () => {
    for (const f of [rdpPoissonGaussian, rdpSampledWithoutReplacementGaussian]) {
      const exact = f(0.5, 1, MAX_EXACT_ORDER);
      expect(exact).toBeLessThanOrEqual(MAX_EXACT_ORDER / 2);
      expect(exact).toBeLessThanOrEqual(f(0.5, 1, MAX_EXACT_ORDER + 1));
    }
  });

  it('an accountant given the order 1e15 answers', () => {
    const history = [{ event: poissonSampledGaussian({ noiseMultiplier: 1, sampleRate: 0.5 }), count: 10 }];
    const r = computeEpsilon(history, 1e-5, { orders: [2, 32, 1e15] });
    expect(r.epsilon).toBeGreaterThan(0);
    expect(r.epsilon).toBeLessThan(Infinity);
    const w = sampledWithoutReplacementGaussian({ noiseMultiplier: 1, sampleSize: 1, datasetSize: 2 });
    expect(rdpCurve([{ event: w, count: 1 }], [1e15])[0]).toBe(1e15 / 2);
  });
});

describe('accounting entry points throw typed errors only', () => {
  const event = gaussian({ noiseMultiplier: 1 });
  const cases: Array<[string, () => unknown, string]> = [
    ['gaussian()', () => gaussian(undefined as never), 'ERR_DPFL_INVALID_TYPE'],
    ['poissonSampledGaussian(null)', () => poissonSampledGaussian(null as never), 'ERR_DPFL_INVALID_TYPE'],
    ['validateEvent(e, hostile name)', () => validateEvent(event, hostile as never), 'ERR_DPFL_INVALID_TYPE'],
    ['rdpGaussian(hostile, 2)', () => rdpGaussian(hostile as never, 2), 'ERR_DPFL_INVALID_TYPE'],
    ['rdpPoissonGaussian(q = 2)', () => rdpPoissonGaussian(2, 1, 2), 'ERR_DPFL_INVALID_ARGUMENT'],
    ['rdpPoissonGaussian(α = 1)', () => rdpPoissonGaussian(0.5, 1, 1), 'ERR_DPFL_INVALID_ARGUMENT'],
    ['epsilonAtOrder(NaN rdp)', () => epsilonAtOrder(2, NaN, 1e-5), 'ERR_DPFL_INVALID_ARGUMENT'],
    ['epsilonFromRdp(length mismatch)', () => epsilonFromRdp([2], [1, 2], 1e-5), 'ERR_DPFL_INVALID_ARGUMENT'],
    ['deltaFromRdp()', () => (deltaFromRdp as (...a: unknown[]) => unknown)(), 'ERR_DPFL_INVALID_TYPE'],
    ['rdpEpsilon("x")', () => rdpEpsilon('x' as never, 1e-5), 'ERR_DPFL_INVALID_TYPE'],
    ['rdpEpsilon([undefined])', () => rdpEpsilon([undefined] as never, 1e-5), 'ERR_DPFL_INVALID_TYPE'],
    ['rdpCurve(entries, {})', () => rdpCurve([], {} as never), 'ERR_DPFL_INVALID_TYPE'],
    ['rdpMaxSteps()', () => (rdpMaxSteps as (...a: unknown[]) => unknown)(), 'ERR_DPFL_INVALID_TYPE'],
    ['pldEpsilon(hostile)', () => pldEpsilon(hostile as never, 1e-5), 'ERR_DPFL_INVALID_TYPE'],
    ['pldDelta(entries, ε, null)', () => pldDelta([], 1, null as never), 'ERR_DPFL_INVALID_TYPE'],
    ['gaussianDelta(hostile, 1)', () => gaussianDelta(hostile as never, 1), 'ERR_DPFL_INVALID_TYPE'],
    ['gaussianMu(-1)', () => gaussianMu(-1), 'ERR_DPFL_INVALID_ARGUMENT'],
    ['calibrateNoiseMultiplier()', () => calibrateNoiseMultiplier(undefined as never), 'ERR_DPFL_INVALID_TYPE'],
    ['maxSteps()', () => maxSteps(undefined as never), 'ERR_DPFL_INVALID_TYPE'],
    ['computeEpsilon(1, 1e-5)', () => computeEpsilon(1 as never, 1e-5), 'ERR_DPFL_INVALID_TYPE'],
    ['computeEpsilon([], 1e-5, null)', () => computeEpsilon([], 1e-5, null as never), 'ERR_DPFL_INVALID_TYPE'],
    ['new Accountant(5)', () => new Accountant(5 as never), 'ERR_DPFL_INVALID_TYPE'],
    [
      'new Accountant({ accountant: hostile })',
      () => new Accountant({ accountant: hostile as never }),
      'ERR_DPFL_INVALID_ARGUMENT',
    ],
    ['accountant.epsilon(hostile)', () => new Accountant().epsilon(hostile as never), 'ERR_DPFL_INVALID_TYPE'],
    [
      'new BudgetExceededError([1])',
      () => new (BudgetExceededError as never as new (...a: unknown[]) => unknown)([1]),
      'ERR_DPFL_INVALID_TYPE',
    ],
  ];
  for (const [label, call, code] of cases) it(label, () => expect(codeOf(call)).toBe(code));

  it('BudgetExceededError with valid arguments still formats its message', () => {
    const e = new BudgetExceededError(1, 2, { epsilon: 1.5, delta: 1e-5 }, 'rdp');
    expect(e.code).toBe('ERR_DPFL_BUDGET_EXCEEDED');
    expect(e.message).toMatch(/ε to 2\.00000/);
  });
});
