// Noise schedules are accounted step by step with their own σ; per-layer thresholds split from
// one budget C keep the total sensitivity at C; automatic clipping bounds every term below C.
import { describe, expect, it } from 'vitest';
import { poissonSampledGaussian, computeEpsilon } from '../../src/accounting/index.js';
import { DpOptimizer, splitThreshold } from '../../src/dpsgd/index.js';
import { clipScales } from '../../src/dpsgd/clipping.js';
import { addGaussianNoise } from '../../src/kernels/noise.js';

describe('schedules and clipping rules', () => {
  it('a decaying noise schedule records each σ exactly', () => {
    const opt = new DpOptimizer({
      params: new Float32Array(5),
      maxGradNorm: 1,
      noiseMultiplier: (step) => (step < 3 ? 2 : 1.5),
      expectedBatchSize: 4,
      event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.05 }),
      update: { kind: 'sgd', lr: 0.1 },
      seed: 1,
    });
    for (let i = 0; i < 5; i++) expect(opt.step().noiseMultiplier).toBe(i < 3 ? 2 : 1.5);
    const history = opt.accountant.history;
    expect(history).toEqual([
      { event: poissonSampledGaussian({ noiseMultiplier: 2, sampleRate: 0.05 }), count: 3 },
      { event: poissonSampledGaussian({ noiseMultiplier: 1.5, sampleRate: 0.05 }), count: 2 },
    ]);
    expect(opt.accountant.epsilon(1e-5)).toBe(computeEpsilon(history, 1e-5).epsilon);
    const bad = new DpOptimizer({
      params: new Float32Array(1),
      maxGradNorm: 1,
      noiseMultiplier: () => -1,
      expectedBatchSize: 1,
      event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.05 }),
      update: { kind: 'sgd', lr: 0.1 },
    });
    expect(() => bad.step()).toThrow('noiseMultiplier(0) must be a positive finite number, received -1');
    expect(bad.accountant.history).toEqual([]);
  });

  it('a clip schedule sets C per step: clipping and the noise std σ·C_t follow it', () => {
    const params = new Float32Array(4);
    const opt = new DpOptimizer({
      params,
      maxGradNorm: (t) => (t < 2 ? 1 : 0.25),
      noiseMultiplier: 1,
      expectedBatchSize: 1,
      event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.05 }),
      update: { kind: 'sgd', lr: 1 },
      seed: 4,
    });
    const norms: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = params.slice();
      opt.accumulatePerSampleGrads(Float32Array.of(10, 0, 0, 0), 1);
      norms.push(opt.step().maxGradNorm);
      // Update = −(clipped row + noise of std C_t): the clipped row has norm C_t.
      const noise = addGaussianNoise(new Float32Array(4), norms[i]!, { seed: 4, stream: 0, offset: i * 4 });
      expect(before[0]! - params[0]! - noise[0]!).toBeCloseTo(norms[i]!, 5);
    }
    expect(norms).toEqual([1, 1, 0.25]);
    expect(
      () =>
        new DpOptimizer({
          params,
          maxGradNorm: () => 1,
          noiseMultiplier: 1,
          expectedBatchSize: 1,
          event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.05 }),
          update: { kind: 'sgd', lr: 1 },
          clipping: 'adaptive',
        }),
    ).toThrow(/maxGradNorm must be a number under adaptive clipping/);
  });

  it('per-layer thresholds from one budget: C_k ∝ sqrt(n_k), Σ C_k² = C², and the optimizer noise uses C', () => {
    const cs = splitThreshold(2, [100, 300, 600]);
    expect(cs[1]! / cs[0]!).toBeCloseTo(Math.sqrt(3), 12);
    expect(Math.hypot(...cs)).toBeCloseTo(2, 12);
    const opt = new DpOptimizer({
      params: new Float32Array(1000),
      groupEnds: [100, 400, 1000],
      maxGradNorm: 2,
      noiseMultiplier: 1,
      expectedBatchSize: 1,
      event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.05 }),
      update: { kind: 'sgd', lr: 0.1 },
      clipping: 'per-layer',
    });
    expect(opt.maxGradNorm).toBeCloseTo(2, 12);
  });

  it('automatic clipping scales every example to norm below C; flat never above C; NaN rows get 0', () => {
    const sq = Float64Array.of(0, 0.25, 100, 1e6, NaN);
    const out = [new Float32Array(5)];
    const auto = clipScales(sq, 5, 1, 'automatic', [1], 0.01, out);
    Array.from(sq).forEach((s, r) => {
      if (Number.isFinite(s)) expect(auto.scales[0]![r]! * Math.sqrt(s)).toBeLessThan(1);
    });
    expect(auto.nonFinite).toEqual([4]);
    const flat = clipScales(sq, 5, 1, 'flat', [1], 0, [new Float32Array(5)]);
    Array.from(sq).forEach((s, r) => {
      if (Number.isFinite(s)) expect(flat.scales[0]![r]! * Math.sqrt(s)).toBeLessThanOrEqual(1);
    });
    expect(flat.scales[0]![4]).toBe(0);
    expect(flat.clipped).toBe(2);
    expect(flat.belowThreshold).toBe(2);
  });
});
