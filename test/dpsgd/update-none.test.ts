// Update rule 'none': the DP optimizer clips, noises, scales and accounts, leaves params untouched
// and exposes the noisy gradient for another framework's optimizer (dpfl/tfjs applies it with tf.train).
import { describe, expect, it } from 'vitest';
import { addGaussianNoise } from '../../src/kernels/noise.js';
import { poissonSampledGaussian } from '../../src/accounting/index.js';
import { DpOptimizer, NonPrivateOptimizer, type UpdateRule } from '../../src/dpsgd/index.js';
import { Random } from '../../src/data/random.js';

const D = 11;
const B = 5;
const sigma = 0.7;
const C = 1.5;
const expectedBatchSize = 4;

function grads(seed: number): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: B * D }, () => rng.normal() * 2);
}

function optimizer(update: UpdateRule, params = new Float32Array(D).fill(0.25)): DpOptimizer {
  return new DpOptimizer({
    params,
    maxGradNorm: C,
    noiseMultiplier: sigma,
    expectedBatchSize,
    event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.1 }),
    update,
    seed: 9,
  });
}

describe("DpOptimizer with update { kind: 'none' }", () => {
  it('leaves params untouched and exposes (clipped sum + noise) / expected batch size', () => {
    const params = new Float32Array(D).fill(0.25);
    const opt = optimizer({ kind: 'none' }, params);
    expect(opt.noisyGradient).toEqual(new Float32Array(D));
    for (let step = 0; step < 2; step++) {
      const g = grads(step);
      opt.accumulatePerSampleGrads(g, B);
      opt.step();
      expect(params).toEqual(new Float32Array(D).fill(0.25));
      // Float64 reference: flat clipping, the seeded noise of this step, the fixed divisor.
      const noise = addGaussianNoise(new Float32Array(D), sigma * C, { seed: 9, stream: 0, offset: step * D });
      const ref = new Float64Array(D);
      for (let r = 0; r < B; r++) {
        const row = g.subarray(r * D, (r + 1) * D);
        const s = Math.min(1, C / (Math.hypot(...row) + 1e-6));
        for (let j = 0; j < D; j++) ref[j]! += s * row[j]!;
      }
      for (let j = 0; j < D; j++) {
        const want = (ref[j]! + noise[j]!) / expectedBatchSize;
        expect(Math.abs(opt.noisyGradient[j]! - want)).toBeLessThan(1e-5 * (1 + Math.abs(want)));
      }
    }
    expect(opt.accountant.releases).toBe(2);
  });

  it('gives the gradient SGD (lr 1) would have applied, bit for bit up to one rounding', () => {
    const none = optimizer({ kind: 'none' });
    const params = new Float32Array(D).fill(0.25);
    const sgd = optimizer({ kind: 'sgd', lr: 1 }, params);
    for (const opt of [none, sgd]) {
      opt.accumulatePerSampleGrads(grads(3), B);
      opt.step();
    }
    for (let j = 0; j < D; j++) expect(none.noisyGradient[j]!).toBeCloseTo(0.25 - params[j]!, 6);
  });

  it('an empty batch releases noise alone; the state has no buffers and restores', () => {
    const opt = optimizer({ kind: 'none' });
    opt.step();
    expect(opt.noisyGradient.some((x) => x !== 0)).toBe(true);
    const state = opt.getState();
    expect(state.buffers).toEqual({});
    const again = optimizer({ kind: 'none' });
    again.setState(state);
    expect(again.steps).toBe(1);
  });

  it('refuses noisyGradient under another rule, and rule none on the non-private baseline', () => {
    expect(() => optimizer({ kind: 'sgd', lr: 0.1 }).noisyGradient).toThrow(/"none" to read noisyGradient/);
    const update = { kind: 'none' } as UpdateRule;
    expect(() => new NonPrivateOptimizer({ params: new Float32Array(D), update })).toThrow(/update.kind/);
    expect(() => optimizer({ kind: 'bogus' } as unknown as UpdateRule)).toThrow(/"sgd" or "adam" \(or "none"/);
  });
});

describe('DpOptimizer.discardBatch', () => {
  it('drops a pending batch: the next step releases noise alone, as if it never came', () => {
    const a = optimizer({ kind: 'none' });
    const b = optimizer({ kind: 'none' });
    a.accumulatePerSampleGrads(grads(4), B);
    a.clipFactors(new Float64Array([1, 4]), 2);
    a.discardBatch();
    a.step();
    b.step();
    expect(a.noisyGradient).toEqual(b.noisyGradient);
  });
});
