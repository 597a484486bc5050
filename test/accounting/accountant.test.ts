import { describe, expect, it, vi } from 'vitest';
import {
  Accountant,
  BudgetExceededError,
  calibrateNoiseMultiplier,
  composed,
  gaussian,
  maxSteps,
  pldEpsilon,
  poissonSampledGaussian,
  rdpEpsilon,
  sampledWithoutReplacementGaussian,
  selfComposed,
  type DpEvent,
  type HistoryEntry,
} from '../../src/accounting/index.js';

const psg = (s: number, q: number) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: q });

describe('PrivacyAccountant', () => {
  it('accumulates steps and reports ε (RDP with optimal order, PLD with interval)', () => {
    const rdp = new Accountant({ accountant: 'rdp' });
    rdp.step(psg(1.1, 0.01), 100);
    rdp.step(psg(1.1, 0.01)); // merged into the previous entry
    expect(rdp.history).toHaveLength(1);
    expect(rdp.history[0]?.count).toBe(101);
    expect(rdp.epsilon(1e-5)).toBe(rdpEpsilon([{ event: psg(1.1, 0.01), count: 101 }], 1e-5).epsilon);
    expect(rdp.report(1e-5).optimalOrder).toBeGreaterThan(1);
    const pld = new Accountant({ accountant: 'pld' });
    pld.step(psg(1.1, 0.01), 101);
    const rep = pld.report(1e-5);
    expect(rep.epsilonLower).toBeLessThanOrEqual(rep.epsilon);
    expect(rep.epsilonUpper).toBe(rep.epsilon);
    expect(rep.discretization).toBe(1e-4);
  });

  it('budget guard: refuses the exceeding step, applies nothing, says what was spent', () => {
    const acc = new Accountant({ accountant: 'rdp', budget: { epsilon: 1, delta: 1e-5 } });
    const e = psg(1.0, 0.01);
    const limit = maxSteps({ noiseMultiplier: 1, sampleRate: 0.01, epsilon: 1, delta: 1e-5 }).steps;
    acc.step(e, limit);
    const before = JSON.stringify(acc.toJSON());
    const spent = acc.epsilon(1e-5);
    let caught: unknown;
    try {
      acc.step(e, 1);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BudgetExceededError);
    const err = caught as BudgetExceededError;
    expect(err.code).toBe('ERR_DPFL_BUDGET_EXCEEDED');
    expect(err.spentEpsilon).toBeCloseTo(spent, 12);
    expect(err.attemptedEpsilon).toBeGreaterThan(1);
    expect(err.message).toMatch(/spent so far ε = 0\.99/);
    expect(JSON.stringify(acc.toJSON())).toBe(before); // nothing half-applied
    expect(acc.epsilon(1e-5)).toBe(spent);
    // A smaller step that fits is still accepted... (none fits here), and a different, cheaper event is judged on its own.
    expect(() => acc.step(psg(1000, 1e-6), 1)).not.toThrow();
  });

  it('budget guard with PLD refuses by PLD upper ε', () => {
    const acc = new Accountant({ accountant: 'pld', budget: { epsilon: 0.5, delta: 1e-5 } });
    acc.step(psg(2, 0.01), 100);
    expect(() => acc.step(psg(2, 0.01), 100000)).toThrow(BudgetExceededError);
    expect(acc.history[0]?.count).toBe(100);
  });

  it('toJSON/fromJSON round-trips exactly (through JSON text)', () => {
    for (const kind of ['rdp', 'pld'] as const) {
      const acc = new Accountant({
        accountant: kind,
        budget: { epsilon: 50, delta: 1e-6 },
        ...(kind === 'pld' ? { discretization: 2e-4 } : { orders: [1.5, 2, 8, 32] }),
      });
      acc.step(psg(1.3, 0.003), 500);
      acc.step(composed([gaussian({ noiseMultiplier: 5 }), selfComposed(psg(0.9, 0.02), 3)]), 2);
      acc.step(psg(1.1, 0.004), 250);
      const text = JSON.stringify(acc);
      const back = Accountant.fromJSON(JSON.parse(text));
      expect(JSON.stringify(back)).toBe(text);
      expect(back.epsilon(1e-6)).toBe(acc.epsilon(1e-6));
      expect(back.budget).toEqual(acc.budget);
      // The restored accountant continues identically.
      acc.step(psg(1.1, 0.004), 7);
      back.step(psg(1.1, 0.004), 7);
      expect(back.epsilon(1e-6)).toBe(acc.epsilon(1e-6));
    }
  });

  it('fromJSON rejects malformed state with messages naming the field', () => {
    expect(() => Accountant.fromJSON({ format: 'x' })).toThrow(/state\.format must be/);
    expect(() =>
      Accountant.fromJSON({
        format: 'dpfl-privacy-accountant',
        version: 1,
        accountant: 'rdp',
        history: [{ event: { kind: 'gaussian', noiseMultiplier: -1 }, count: 1 }],
      }),
    ).toThrow(/state\.history\[0\]\.event\.noiseMultiplier must be a finite number > 0, received -1/);
  });

  it('PLD accountant rejects sampling without replacement (replace-one), RDP accepts it', () => {
    const wor = sampledWithoutReplacementGaussian({ noiseMultiplier: 1, sampleSize: 100, datasetSize: 10000 });
    expect(() => new Accountant({ accountant: 'pld' }).step(wor)).toThrow(/use the rdp accountant/);
    const acc = new Accountant({ accountant: 'rdp' });
    acc.step(wor, 1000);
    expect(acc.epsilon(1e-5)).toBeGreaterThan(0);
  });
});

describe('the budget guard: certified plans and restored ledgers', () => {
  const delta = 1e-5;

  it('certify proves a plan once; dominated ledgers pass without ε, others are checked exactly', () => {
    const acc = new Accountant({ accountant: 'rdp', budget: { epsilon: 1, delta } });
    const e = psg(1.2, 0.01);
    const limit = 50;
    expect(acc.certify([{ event: e, count: limit }])).toBeLessThanOrEqual(1);
    const compute = vi.spyOn(Accountant.prototype as unknown as { compute: () => unknown }, 'compute');
    try {
      for (let i = 0; i < limit; i++) acc.step(e);
      expect(compute).not.toHaveBeenCalled();
      acc.step(e); // beyond the plan: checked exactly (and it fits)
      expect(compute).toHaveBeenCalledTimes(1);
    } finally {
      compute.mockRestore();
    }
    expect(acc.releases).toBe(limit + 1);
    expect(acc.history).toEqual([{ event: e, count: limit + 1 }]);
  });

  it('a ledger with an event outside the plan is not dominated, whatever its counts', () => {
    const acc = new Accountant({ accountant: 'rdp', budget: { epsilon: 1, delta } });
    acc.certify([{ event: psg(1.2, 0.01), count: 100 }]);
    // q = 1 at the same σ: each step costs far more; the exact check stops it at the budget.
    let taken = 0;
    for (; taken < 100; taken++) {
      try {
        acc.step(psg(1.2, 1));
      } catch (err) {
        expect(err).toBeInstanceOf(BudgetExceededError);
        break;
      }
    }
    expect(taken).toBeLessThan(100);
    expect(acc.epsilon(delta)).toBeLessThanOrEqual(1);
  });

  it('certify refuses a plan over the budget (remembering nothing) and needs a budget', () => {
    const acc = new Accountant({ accountant: 'rdp', budget: { epsilon: 1, delta } });
    expect(() => acc.certify([{ event: psg(0.5, 0.1), count: 1000 }])).toThrow(BudgetExceededError);
    expect(() => acc.step(psg(0.5, 0.1), 1000)).toThrow(BudgetExceededError);
    expect(() => new Accountant().certify([{ event: psg(1, 0.1), count: 1 }])).toThrow(
      /budget must be set on the accountant/,
    );
    expect(() => acc.certify([{ event: psg(1, 0.1), count: 1.5 }])).toThrow(/plan\[0\]\.count must be an integer >= 1/);
  });

  it('restore replaces the ledger atomically; releases counts it; history cannot edit it', () => {
    const acc = new Accountant({ accountant: 'rdp', budget: { epsilon: 5, delta } });
    acc.step(psg(1, 0.01), 10);
    acc.restore([
      { event: psg(1, 0.01), count: 3 },
      { event: gaussian({ noiseMultiplier: 9 }), count: 2 },
    ]);
    expect(acc.releases).toBe(5);
    const before = JSON.stringify(acc);
    const negative = { kind: 'poisson-sampled-gaussian', noiseMultiplier: -1, sampleRate: 0.01 } as DpEvent;
    expect(() =>
      acc.restore([
        { event: psg(1, 0.01), count: 3 },
        { event: negative, count: 1 },
      ]),
    ).toThrow(/history\[1\]\.event\.noiseMultiplier/);
    expect(() => acc.restore([{ event: psg(1, 0.01), count: 0 }])).toThrow(
      /history\[0\]\.count must be an integer >= 1/,
    );
    expect(JSON.stringify(acc)).toBe(before);
    const h = acc.history as HistoryEntry[];
    expect(() => h.push({ event: psg(1, 0.01), count: 1 })).toThrow(TypeError);
    expect(() => {
      (h[0] as { count: number }).count = 0;
    }).toThrow(TypeError);
    expect(() => {
      (h[0]!.event as { noiseMultiplier: number }).noiseMultiplier = 1e9;
    }).toThrow(TypeError);
    expect(JSON.stringify(acc)).toBe(before);
  });
});

describe('bad arguments name the argument', () => {
  it('events', () => {
    expect(() => psg(0, 0.1)).toThrow(/noiseMultiplier must be a finite number > 0, received 0/);
    expect(() => psg(-1, 0.1)).toThrow(RangeError);
    expect(() => psg(1, 0)).toThrow(/sampleRate must be in \(0, 1\], received 0/);
    expect(() => psg(1, 1.5)).toThrow(/sampleRate must be in \(0, 1\], received 1.5/);
    expect(() => selfComposed(psg(1, 0.1), 2.5)).toThrow(/count must be an integer >= 0, received 2.5/);
    expect(() => new Accountant().step({ kind: 'nope' } as unknown as DpEvent)).toThrow(/event\.kind must be one of/);
    try {
      psg(1, 2);
    } catch (e) {
      expect((e as { code?: string }).code).toBe('ERR_DPFL_INVALID_ARGUMENT');
    }
  });

  it('accountant, δ and steps', () => {
    const acc = new Accountant();
    expect(() => acc.epsilon(0)).toThrow(/delta must be in \(0, 1\), received 0/);
    expect(() => acc.epsilon(1)).toThrow(/delta must be in \(0, 1\), received 1/);
    expect(() => acc.step(psg(1, 0.1), 1.5)).toThrow(/count must be an integer >= 0, received 1.5/);
    expect(() => acc.step(psg(1, 0.1), -1)).toThrow(/count must be an integer >= 0/);
    expect(() => new Accountant({ accountant: 'moments' as 'rdp' })).toThrow(/accountant must be "rdp" or "pld"/);
    expect(() => new Accountant({ budget: { epsilon: 1, delta: 2 } })).toThrow(/budget\.delta must be in \(0, 1\)/);
  });

  it('calibration', () => {
    const base = { epsilon: 1, delta: 1e-5, sampleRate: 0.01, steps: 100 };
    expect(() => calibrateNoiseMultiplier({ ...base, steps: 10.5 })).toThrow(
      /steps must be an integer >= 1, received 10.5/,
    );
    expect(() => calibrateNoiseMultiplier({ ...base, sampleRate: 0 })).toThrow(/sampleRate must be in \(0, 1\]/);
    expect(() => calibrateNoiseMultiplier({ ...base, delta: 1 })).toThrow(/delta must be in \(0, 1\)/);
    expect(() => calibrateNoiseMultiplier({ ...base, epsilon: 0 })).toThrow(/epsilon must be a finite number > 0/);
    expect(() => maxSteps({ noiseMultiplier: 0, sampleRate: 0.1, epsilon: 1, delta: 1e-5 })).toThrow(
      /noiseMultiplier must be a finite number > 0/,
    );
  });
});

describe('calibration', () => {
  it('RDP: the returned σ meets the target and inverts the accountant within the tolerance', () => {
    for (const [eps, q, t] of [
      [3, 256 / 60000, 14063],
      [1, 0.01, 1000],
      [8, 0.001, 100000],
      [0.5, 1, 10],
    ] as const) {
      const r = calibrateNoiseMultiplier({ epsilon: eps, delta: 1e-5, sampleRate: q, steps: t, tolerance: 1e-4 });
      const at = rdpEpsilon([{ event: psg(r.noiseMultiplier, q), count: t }], 1e-5).epsilon;
      expect(at).toBeLessThanOrEqual(eps);
      expect(r.epsilon).toBeLessThanOrEqual(eps);
      // Smallest: 0.02% less noise fails (tolerance 1e-4 on σ, with margin).
      expect(rdpEpsilon([{ event: psg(r.noiseMultiplier * (1 - 2e-4), q), count: t }], 1e-5).epsilon).toBeGreaterThan(
        eps,
      );
    }
  });

  it('PLD: meets the target, needs less noise than RDP', () => {
    const q = 256 / 60000;
    const t = 14063;
    const r = calibrateNoiseMultiplier({
      epsilon: 3,
      delta: 1e-5,
      sampleRate: q,
      steps: t,
      accountant: 'pld',
      tolerance: 1e-3,
    });
    expect(
      pldEpsilon([{ event: psg(r.noiseMultiplier, q), count: t }], 1e-5, { lowerBound: false }).upper,
    ).toBeLessThanOrEqual(3);
    expect(
      pldEpsilon([{ event: psg(r.noiseMultiplier * (1 - 2e-3), q), count: t }], 1e-5, { lowerBound: false }).upper,
    ).toBeGreaterThan(3);
    expect(r.noiseMultiplier).toBeLessThan(
      calibrateNoiseMultiplier({ epsilon: 3, delta: 1e-5, sampleRate: q, steps: t }).noiseMultiplier,
    );
  });

  it('maxSteps: ε(T) ≤ target < ε(T + 1), for both accountants', () => {
    const q = 0.01;
    const s = 1.2;
    const rdp = maxSteps({ noiseMultiplier: s, sampleRate: q, epsilon: 2, delta: 1e-5 });
    expect(rdpEpsilon([{ event: psg(s, q), count: rdp.steps }], 1e-5).epsilon).toBeLessThanOrEqual(2);
    expect(rdpEpsilon([{ event: psg(s, q), count: rdp.steps + 1 }], 1e-5).epsilon).toBeGreaterThan(2);
    const pld = maxSteps({
      noiseMultiplier: s,
      sampleRate: q,
      epsilon: 2,
      delta: 1e-5,
      accountant: 'pld',
      discretization: 2e-4,
    });
    const f = (t: number) =>
      pldEpsilon([{ event: psg(s, q), count: t }], 1e-5, { discretization: 2e-4, lowerBound: false }).upper;
    expect(f(pld.steps)).toBeLessThanOrEqual(2);
    expect(f(pld.steps + 1)).toBeGreaterThan(2);
    expect(pld.steps).toBeGreaterThan(rdp.steps);
  });
});

describe('Accountant.checkStep: the budget guard asked without spending', () => {
  it('throws exactly when step would, and records nothing either way', () => {
    const event = poissonSampledGaussian({ noiseMultiplier: 1, sampleRate: 0.01 });
    const a = new Accountant({ budget: { epsilon: 1, delta: 1e-5 } });
    let taken = 0;
    for (;;) {
      try {
        a.checkStep(event);
      } catch (e) {
        expect(e).toBeInstanceOf(BudgetExceededError);
        expect(() => a.step(event)).toThrow(BudgetExceededError);
        break;
      }
      a.step(event);
      taken += 1;
    }
    expect(a.releases).toBe(taken);
    expect(taken).toBeGreaterThan(0);
    const before = a.epsilon(1e-5);
    expect(() => a.checkStep(event, 2)).toThrow(BudgetExceededError);
    expect(a.releases).toBe(taken);
    expect(a.epsilon(1e-5)).toBe(before);
    expect(() => a.checkStep({ kind: 'nope' } as never)).toThrow();
    expect(() => a.checkStep(event, 0)).not.toThrow();
  });
});
