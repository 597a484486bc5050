// The non-private baseline (NonPrivateOptimizer): a built-in model's plain gradient gathered over
// physical chunks (accumulateModel) and step() equal SGD on the float64 mean of materialised
// per-example gradients; an empty batch applies a zero gradient; checkpoints written by
// DpOptimizer's plain steps before 0.2.0 still load.
import { describe, expect, it } from 'vitest';
import { Accountant } from '../../src/accounting/index.js';
import { gatherBatch, syntheticDense } from '../../src/data/index.js';
import { NonPrivateOptimizer } from '../../src/dpsgd/index.js';
import { createModel } from '../../src/models/index.js';

const spec = { kind: 'mlp' as const, input: 'dense' as const, inputDim: 9, classes: 3, hidden: [6] };
const data = syntheticDense({ size: 30, dim: 9, classes: 3, seed: 8 });
const rows = Int32Array.from({ length: 11 }, (_, i) => 2 * i + 1);

function optimizerFor(params: Float32Array, momentum = 0): NonPrivateOptimizer {
  return new NonPrivateOptimizer({ params, update: { kind: 'sgd', lr: 0.3, momentum } });
}

describe('non-private steps (baselines)', () => {
  it('chunks gathered with accumulateModel, then step, equal SGD on the mean per-example gradient', () => {
    const model = createModel(spec, 4);
    const p0 = model.params.slice();
    // Reference: per-example gradients one at a time, mean in float64.
    const mean = new Float64Array(model.paramCount);
    const g = new Float32Array(model.paramCount);
    for (const r of rows) {
      model.forwardBackward(gatherBatch(data, Int32Array.of(r)));
      model.backwardParams(
        g,
        model.groups.map(() => null),
        false,
      );
      g.forEach((v, i) => (mean[i]! += v / rows.length));
    }
    const opt = optimizerFor(model.params);
    for (const chunk of [rows.subarray(0, 4), rows.subarray(4)]) {
      model.forwardBackward(gatherBatch(data, chunk));
      opt.accumulateModel(model, chunk.length);
    }
    opt.step();
    expect(opt.steps).toBe(1);
    expect('accountant' in opt).toBe(false);
    for (let i = 0; i < p0.length; i++) expect(model.params[i]!).toBeCloseTo(p0[i]! - 0.3 * mean[i]!, 5);
  });

  it('stepWithSum with a gradient sum from elsewhere equals the gathered path; an empty batch changes nothing', () => {
    const a = createModel(spec, 4);
    const b = createModel(spec, 4);
    const batch = gatherBatch(data, rows);
    const optA = optimizerFor(a.params);
    a.forwardBackward(batch);
    optA.accumulateModel(a, batch.size);
    optA.step();
    const optB = optimizerFor(b.params);
    const sum = new Float32Array(b.paramCount);
    b.forwardBackward(batch);
    b.backwardParams(
      sum,
      b.groups.map(() => null),
      false,
    );
    optB.stepWithSum(sum, batch.size);
    expect(b.params).toEqual(a.params);
    const before = b.params.slice();
    optB.step();
    expect(b.params).toEqual(before);
    expect(() => optB.stepWithSum(new Float32Array(3), 1)).toThrow(
      `gradSum.length must be params.length (${b.paramCount}), received 3`,
    );
    expect(() => optB.accumulateModel(b, -1)).toThrow('batchSize must be a non-negative integer, received -1');
  });

  it('checkpoints: its own state, and a pre-0.2.0 DpOptimizer state of plain steps, restore bit for bit', () => {
    const a = createModel(spec, 4);
    const optA = optimizerFor(a.params, 0.9);
    const batch = gatherBatch(data, rows);
    for (let t = 0; t < 3; t++) {
      a.forwardBackward(batch);
      optA.accumulateModel(a, batch.size);
      optA.step();
    }
    const live = optA.getState();
    expect(Object.keys(live.buffers)).toEqual(['velocity']);
    const state = { step: live.step, buffers: { velocity: live.buffers.velocity!.slice() } };
    const p3 = a.params.slice();
    a.forwardBackward(batch);
    optA.accumulateModel(a, batch.size);
    optA.step();
    // The shape DpOptimizer.getState() wrote for a run of plain steps before 0.2.0.
    const legacy = { ...state, maxGradNorm: 1, plainSteps: 3, accountant: new Accountant().toJSON() };
    for (const saved of [state, legacy]) {
      const b = createModel(spec, 4);
      b.params.set(p3);
      const optB = optimizerFor(b.params, 0.9);
      optB.setState(saved);
      expect(optB.steps).toBe(3);
      b.forwardBackward(batch);
      optB.accumulateModel(b, batch.size);
      optB.step();
      expect(b.params).toEqual(a.params);
    }
    const c = optimizerFor(createModel(spec, 4).params, 0.9);
    expect(() => c.setState({ ...legacy, plainSteps: 2 })).toThrow(/state.plainSteps must be the step count \(3\)/);
    expect(() => c.setState({ ...state, buffers: { m: state.buffers.velocity! } })).toThrow(
      'state.buffers.m must be absent (this optimizer has velocity)',
    );
    expect(c.steps).toBe(0);
  });
});
