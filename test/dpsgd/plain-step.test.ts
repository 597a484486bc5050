// The non-private baseline path: a built-in model's plain gradient gathered straight into the
// optimizer (accumulateModelPlain, over physical chunks) and stepPlain equal SGD on the float64
// mean of materialised per-example gradients; an empty batch applies a zero gradient.
import { describe, expect, it } from 'vitest';
import { poissonSampledGaussian } from '../../src/accounting/index.js';
import { gatherBatch, syntheticDense } from '../../src/data/index.js';
import { DpOptimizer } from '../../src/dpsgd/index.js';
import { createModel } from '../../src/models/index.js';

const spec = { kind: 'mlp' as const, input: 'dense' as const, inputDim: 9, classes: 3, hidden: [6] };
const data = syntheticDense({ size: 30, dim: 9, classes: 3, seed: 8 });
const rows = Int32Array.from({ length: 11 }, (_, i) => 2 * i + 1);

function optimizerFor(params: Float32Array): DpOptimizer {
  const event = (s: number) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.1 });
  return new DpOptimizer({ params, maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: 99, event, update: { kind: 'sgd', lr: 0.3 } });
}

describe('non-private steps (baselines)', () => {
  it('chunks gathered with accumulateModelPlain, then stepPlain, equal SGD on the mean per-example gradient', () => {
    const model = createModel(spec, 4);
    const p0 = model.params.slice();
    // Reference: per-example gradients one at a time, mean in float64.
    const mean = new Float64Array(model.paramCount);
    const g = new Float32Array(model.paramCount);
    for (const r of rows) {
      model.forwardBackward(gatherBatch(data, Int32Array.of(r)));
      model.backwardParams(g, model.groups.map(() => null), false);
      g.forEach((v, i) => (mean[i]! += v / rows.length));
    }
    const opt = optimizerFor(model.params);
    for (const chunk of [rows.subarray(0, 4), rows.subarray(4)]) {
      model.forwardBackward(gatherBatch(data, chunk));
      opt.accumulateModelPlain(model, chunk.length);
    }
    opt.stepPlain();
    expect(opt.steps).toBe(1);
    expect(opt.accountant.history).toHaveLength(0);
    for (let i = 0; i < p0.length; i++) expect(model.params[i]!).toBeCloseTo(p0[i]! - 0.3 * mean[i]!, 5);
  });

  it('stepNonPrivate with a gradient sum from elsewhere equals the gathered path; an empty batch changes nothing', () => {
    const a = createModel(spec, 4);
    const b = createModel(spec, 4);
    const batch = gatherBatch(data, rows);
    const optA = optimizerFor(a.params);
    a.forwardBackward(batch);
    optA.accumulateModelPlain(a, batch.size);
    optA.stepPlain();
    const optB = optimizerFor(b.params);
    const sum = new Float32Array(b.paramCount);
    b.forwardBackward(batch);
    b.backwardParams(sum, b.groups.map(() => null), false);
    optB.stepNonPrivate(sum, batch.size);
    expect(b.params).toEqual(a.params);
    const before = b.params.slice();
    optB.stepPlain();
    expect(b.params).toEqual(before);
    expect(() => optB.stepNonPrivate(new Float32Array(3), 1)).toThrow(`gradSum.length must be params.length (${b.paramCount}), received 3`);
    expect(() => optB.accumulateModelPlain(b, -1)).toThrow('batchSize must be a non-negative integer, received -1');
  });
});
