// The budget guard cannot be bypassed (issue 12, section 3): the accountant's ledger is the single
// truth. Each reproduction below overspent a budget of ε = 1 with no error before the guard moved
// into the accountant: a writable sampler rate, setState({ step: 0 }), a huge maxGradNorm charged
// for a step that then failed, and a noise schedule called twice per step.
import { describe, expect, it, vi } from 'vitest';
import { Accountant, BudgetExceededError, poissonSampledGaussian, type DpEvent } from '../../src/accounting/index.js';
import { DpOptimizer, FixedSizeSampler, PoissonSampler, makePrivate } from '../../src/dpsgd/index.js';
import type { PrivateSetup } from '../../src/dpsgd/index.js';

const DELTA = 1e-5;
const D = 4;

function setup(extra: { accountant?: 'rdp' | 'pld'; steps?: number } = {}): PrivateSetup {
  return makePrivate({
    params: new Float32Array(D),
    datasetSize: 1000,
    batchSize: 10,
    targetEpsilon: 1,
    delta: DELTA,
    steps: extra.steps ?? 200,
    maxGradNorm: 1,
    update: { kind: 'sgd', lr: 0.1, momentum: 0.9 },
    seed: 7,
    ...(extra.accountant ? { accountant: extra.accountant } : {}),
  });
}

/** A training loop over the sampler's draws (every example's gradient is all ones); stops at the guard. */
function train(p: PrivateSetup, steps: number): { taken: number; refused: boolean } {
  for (let taken = 0; taken < steps; taken++) {
    const rows = p.sampler.next();
    if (rows.length > 0) p.optimizer.accumulatePerSampleGrads(new Float32Array(rows.length * D).fill(1), rows.length);
    try {
      p.optimizer.step();
    } catch (e) {
      if (e instanceof BudgetExceededError) return { taken, refused: true };
      throw e;
    }
  }
  return { taken: steps, refused: false };
}

describe('samplers are immutable: the charged event is the drawn batch’s', () => {
  it('sampleRate = 1 after makePrivate is refused, and the calibrated run spends at most the budget', () => {
    const p = setup();
    // Before: the assignment was accepted and the calibrated 200 steps drew (and were charged) at q = 1: ε 22.9.
    expect(() => {
      (p.sampler as unknown as { sampleRate: number }).sampleRate = 1;
    }).toThrow(TypeError);
    expect(() => {
      (p.sampler as unknown as { sampleRate: number }).sampleRate = 0.5;
    }).toThrow(TypeError);
    expect((p.sampler as PoissonSampler).sampleRate).toBe(0.01);
    // Nor can the ledger be swapped or the budget raised by assignment.
    expect(() => {
      (p.optimizer as unknown as { accountant: Accountant }).accountant = new Accountant();
    }).toThrow(TypeError);
    expect(() => {
      (p.accountant as unknown as { budget: unknown }).budget = { epsilon: 1e9, delta: DELTA };
    }).toThrow(TypeError);
    expect(() => {
      (p.accountant as unknown as { accountant: string }).accountant = 'pld';
    }).toThrow(TypeError);
    expect(train(p, 200)).toEqual({ taken: 200, refused: false });
    expect(p.accountant.epsilon(DELTA)).toBeLessThanOrEqual(1);
    expect(train(p, 1).refused).toBe(true);
  });

  it('no sampler property or method can be replaced or added', () => {
    const poisson = new PoissonSampler({ datasetSize: 100, sampleRate: 0.1, seed: 1 });
    const fixed = new FixedSizeSampler({ datasetSize: 100, batchSize: 10, seed: 1 });
    for (const s of [poisson, fixed] as unknown as Record<string, unknown>[]) {
      for (const key of ['datasetSize', 'batchSize', 'sampleRate', 'kind', 'next', 'event', 'expectedBatchSize']) {
        expect(() => {
          s[key] = key === 'next' || key === 'event' ? () => null : 1;
        }).toThrow(TypeError);
      }
      expect(Object.isFrozen(s)).toBe(true);
    }
    expect(fixed.batchSize).toBe(10);
    expect(fixed.next()).toHaveLength(10);
  });

  it('a fixed-size sampler refuses a restored permutation with a repeated index', () => {
    const s = new FixedSizeSampler({ datasetSize: 5, batchSize: 2, seed: 1 });
    const st = s.getState();
    expect(() => s.setState({ ...st, perm: [0, 0, 2, 3, 4] })).toThrow(/state\.perm\[1\] must be a permutation/);
    expect(s.getState()).toEqual(st);
  });
});

describe('the guard reads the ledger, whatever the counters say', () => {
  it('setState({ step: 0 }) after spending is refused with a typed error; nothing changes', () => {
    const p = setup();
    expect(train(p, 200).refused).toBe(false);
    const ledger = JSON.stringify(p.accountant.toJSON());
    const state = p.optimizer.getState();
    const velocity = state.buffers.velocity!.slice();
    // Before: accepted, and 200 more unchecked steps reached ε 1.35 on a budget of 1.
    let caught: unknown;
    try {
      p.optimizer.setState({ step: 0, maxGradNorm: 1, buffers: {} });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code?: string }).code).toBe('ERR_DPFL_INVALID_ARGUMENT');
    expect((caught as Error).message).toMatch(
      /state\.step must be the ledger's step count \(200 private steps\), received 0/,
    );
    for (const bad of [1.5, -1, Number.NaN, 200.5, '200']) {
      expect(() => p.optimizer.setState({ ...state, step: bad as number })).toThrow(/state\.step must be/);
    }
    expect(() => p.optimizer.setState({ ...state, plainSteps: -1 })).toThrow(
      /state\.plainSteps must be a non-negative integer/,
    );
    expect(JSON.stringify(p.accountant.toJSON())).toBe(ledger);
    expect(p.optimizer.steps).toBe(200);
    expect(Array.from(p.optimizer.getState().buffers.velocity!)).toEqual(Array.from(velocity));
    expect(train(p, 200).taken).toBe(0);
    expect(p.accountant.epsilon(DELTA)).toBeLessThanOrEqual(1);
  });

  it('setState with a ledger restores it and derives the step count from it', () => {
    const a = setup();
    train(a, 30);
    const state = a.optimizer.getState();
    expect(state.step).toBe(30);
    const b = setup();
    b.optimizer.setState(JSON.parse(JSON.stringify({ ...state, buffers: {} })));
    expect(b.optimizer.steps).toBe(30);
    expect(b.accountant.toJSON()).toEqual(a.accountant.toJSON());
    // A ledger that disagrees with step, or of another accountant kind, is refused and changes nothing.
    const c = setup();
    expect(() => c.optimizer.setState({ ...state, buffers: {}, step: 29 })).toThrow(
      /state\.step must be the ledger's step count \(30 private/,
    );
    const pld = { ...state, buffers: {}, accountant: { ...state.accountant!, accountant: 'pld' as const } };
    expect(() => c.optimizer.setState(pld)).toThrow(/state\.accountant\.accountant must be "rdp"/);
    expect(() => c.optimizer.setState({ ...state, buffers: { params: new Float32Array(D) } })).toThrow(
      /state\.buffers\.params must be absent/,
    );
    expect(c.optimizer.steps).toBe(0);
    expect(c.accountant.history).toHaveLength(0);
  });

  it('a step whose event is not in the certified plan is checked exactly, refused before ε exceeds the budget', () => {
    const accountant = new Accountant({ budget: { epsilon: 1, delta: DELTA } });
    let q = 0.01;
    const opt = new DpOptimizer({
      params: new Float32Array(D),
      maxGradNorm: 1,
      noiseMultiplier: 3,
      expectedBatchSize: 10,
      event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: q }),
      update: { kind: 'sgd', lr: 0.1 },
      accountant,
      seed: 1,
    });
    accountant.certify([{ event: opt.stepEvent(0), count: 10 }]);
    for (let i = 0; i < 10; i++) opt.step();
    q = 0.5; // a mid-run change of what is released: every such step is judged on the exact ledger
    let refused = false;
    for (let i = 0; i < 1000 && !refused; i++) {
      try {
        opt.step();
      } catch (e) {
        expect(e).toBeInstanceOf(BudgetExceededError);
        refused = true;
      }
    }
    expect(refused).toBe(true);
    expect(accountant.epsilon(DELTA)).toBeLessThanOrEqual(1);
    expect(opt.steps).toBe(accountant.releases);
  });

  it('the optimizer has no budget of its own: a budget option is refused with a pointer to the accountant', () => {
    expect(
      () =>
        new DpOptimizer({
          params: new Float32Array(2),
          maxGradNorm: 1,
          noiseMultiplier: 1,
          expectedBatchSize: 1,
          event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.1 }),
          update: { kind: 'sgd', lr: 0.1 },
          budget: { epsilon: 1, delta: DELTA },
        } as ConstructorParameters<typeof DpOptimizer>[0]),
    ).toThrow(/budget must be absent \(give the accountant the budget/);
  });

  it('a refused step changes nothing: params, momentum, ledger, step count, the pending batch', () => {
    const p = setup({ steps: 20 });
    train(p, 20);
    p.optimizer.accumulatePerSampleGrads(new Float32Array(2 * D).fill(1), 2);
    const params = p.optimizer.params.slice();
    const st = p.optimizer.getState();
    const velocity = st.buffers.velocity!.slice();
    expect(() => p.optimizer.step()).toThrow(BudgetExceededError);
    expect(Array.from(p.optimizer.params)).toEqual(Array.from(params));
    expect(Array.from(p.optimizer.getState().buffers.velocity!)).toEqual(Array.from(velocity));
    expect(p.optimizer.getState().accountant).toEqual(st.accountant);
    expect(p.optimizer.steps).toBe(20);
  });
});

describe('nothing is charged for work that is then refused', () => {
  it('maxGradNorm 3e38: the step is refused before it is charged (the noisy sum would overflow float32)', () => {
    const p = makePrivate({
      params: new Float32Array(D),
      datasetSize: 1000,
      batchSize: 10,
      targetEpsilon: 1,
      delta: DELTA,
      steps: 5,
      maxGradNorm: 3e38,
      update: { kind: 'sgd', lr: 0.1 },
      seed: 1,
    });
    p.optimizer.accumulatePerSampleGrads(new Float32Array(2 * D).fill(0.5), 2);
    // Before: charged, then the parameters became ±Infinity (or "x must contain only finite values").
    let caught: unknown;
    try {
      p.optimizer.step();
    } catch (e) {
      caught = e;
    }
    expect((caught as { code?: string }).code).toBe('ERR_DPFL_INVALID_ARGUMENT');
    expect((caught as Error).message).toMatch(/maxGradNorm must be small enough that examples·C \+ 40·σ·C/);
    expect(p.accountant.history).toHaveLength(0);
    expect(p.optimizer.steps).toBe(0);
    expect(Array.from(p.optimizer.params)).toEqual([0, 0, 0, 0]);
  });

  it('a clipped sum with NaN handed to addClippedSum is refused there, not after the charge', () => {
    const p = setup({ steps: 5 });
    p.optimizer.clipFactors(new Float64Array([1]), 1);
    expect(() => p.optimizer.addClippedSum(new Float32Array(D).fill(Number.NaN))).toThrow(/sum must be finite/);
    expect(p.accountant.history).toHaveLength(0);
  });

  it('the noise schedule is called once per step, and the charged σ is the σ of the noise', () => {
    let calls = 0;
    const schedule = (step: number) => {
      calls++;
      return 1 + step / 10 + calls * 1e-3; // drifts per call: a second call would give another σ
    };
    const accountant = new Accountant();
    const opt = new DpOptimizer({
      params: new Float32Array(D),
      maxGradNorm: 1,
      noiseMultiplier: schedule,
      expectedBatchSize: 10,
      event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.01 }),
      update: { kind: 'sgd', lr: 0.1 },
      accountant,
      seed: 3,
    });
    const reports = [0, 1, 2, 3, 4].map(() => opt.step());
    expect(calls).toBe(5);
    const charged = accountant.history.map((h) => (h.event as { noiseMultiplier: number }).noiseMultiplier);
    expect(charged).toEqual(reports.map((r) => r.noiseMultiplier));
  });
});

describe('the guard is cheap in a calibrated run', () => {
  for (const kind of ['rdp', 'pld'] as const) {
    it(`${kind}: the certified steps compute no ε; a step beyond the plan is checked exactly`, () => {
      const p = setup({ accountant: kind, steps: 20 });
      const compute = vi.spyOn(Accountant.prototype as unknown as { compute: () => unknown }, 'compute');
      try {
        expect(train(p, 20).refused).toBe(false);
        expect(compute).not.toHaveBeenCalled();
        train(p, 1);
        expect(compute).toHaveBeenCalled();
      } finally {
        compute.mockRestore();
      }
      expect(p.accountant.epsilon(DELTA)).toBeLessThanOrEqual(1);
    });
  }

  it('adaptive clipping: the composed event of each step stays within the certified plan', () => {
    const p = makePrivate({
      params: new Float32Array(D),
      datasetSize: 1000,
      batchSize: 100,
      targetEpsilon: 3,
      delta: DELTA,
      steps: 10,
      maxGradNorm: 1,
      clipping: 'adaptive',
      update: { kind: 'sgd', lr: 0.1 },
      seed: 2,
    });
    const compute = vi.spyOn(Accountant.prototype as unknown as { compute: () => unknown }, 'compute');
    try {
      expect(train(p, 10).refused).toBe(false);
      expect(compute).not.toHaveBeenCalled();
    } finally {
      compute.mockRestore();
    }
    expect(p.accountant.releases).toBe(10);
    const events: DpEvent[] = p.accountant.history.map((h) => h.event);
    expect(events).toHaveLength(1);
  });
});
