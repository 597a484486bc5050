// The DP optimizer against a plain TypeScript float64 reference: clip, sum, seeded noise, ÷
// expected batch size, SGD/Adam update; accountant events; empty batches; bad arguments.
import { describe, expect, it } from 'vitest';
import { addGaussianNoise } from '../../src/kernels/noise.js';
import { Accountant, poissonSampledGaussian } from '../../src/accounting/index.js';
import { DpOptimizer } from '../../src/dpsgd/index.js';
import { Random } from '../../src/data/random.js';

const D = 23;
const B = 7;
const ends = [10, 19, 23];

function grads(seed: number, scale = 1): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: B * D }, () => rng.normal() * scale);
}

function noiseOf(std: number, seed: number, offset: number): Float32Array {
  return addGaussianNoise(new Float32Array(D), std, { seed, stream: 0, offset });
}

/** Reference clipped sum in float64. */
function refClipSum(
  G: Float32Array,
  rule: 'flat' | 'per-layer' | 'automatic',
  C: number,
  Cs: number[],
  gamma = 0.01,
): Float64Array {
  const sum = new Float64Array(D);
  for (let r = 0; r < B; r++) {
    const row = Array.from(G.subarray(r * D, (r + 1) * D));
    if (rule === 'per-layer') {
      let start = 0;
      ends.forEach((end, k) => {
        const n = Math.sqrt(row.slice(start, end).reduce((s, v) => s + v * v, 0));
        const s = Math.min(1, Cs[k]! / (n + 1e-6));
        for (let j = start; j < end; j++) sum[j]! += s * row[j]!;
        start = end;
      });
    } else {
      const n = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
      const s = rule === 'flat' ? Math.min(1, C / (n + 1e-6)) : C / (n + gamma);
      row.forEach((v, j) => (sum[j]! += s * v));
    }
  }
  return sum;
}

function close(a: Float32Array, b: ArrayLike<number>, tol = 2e-6): void {
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i]!)));
}

describe('DpOptimizer (per-example gradients from any trainer)', () => {
  for (const rule of ['flat', 'per-layer', 'automatic'] as const) {
    it(`${rule}: SGD step equals the reference (clip, sum, seeded noise, ÷ expected batch, update)`, () => {
      const p0 = Float32Array.from({ length: D }, (_, i) => i / D);
      const params = p0.slice();
      const C = 1.5;
      const sigma = 0.8;
      const opt = new DpOptimizer({
        params,
        groupEnds: ends,
        maxGradNorm: C,
        noiseMultiplier: sigma,
        expectedBatchSize: 6.5,
        event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.01 }),
        clipping: rule === 'per-layer' ? { kind: 'per-layer', maxNorms: [1, 0.5, 0.8] } : rule,
        update: { kind: 'sgd', lr: 0.1 },
        seed: 42,
      });
      const G = grads(1, 1);
      opt.accumulatePerSampleGrads(G, B);
      opt.step();
      const Cs = [1, 0.5, 0.8];
      const Ceff = rule === 'per-layer' ? Math.hypot(...Cs) : C;
      const sum = refClipSum(G, rule, C, Cs);
      const noise = noiseOf(sigma * Ceff, 42, 0);
      const ref = Array.from(p0, (p, i) => p - (0.1 * (sum[i]! + noise[i]!)) / 6.5);
      close(params, ref);
    });
  }

  it('virtual batches: two accumulations and one step equal one big batch (one noise draw)', () => {
    const mk = (params: Float32Array) =>
      new DpOptimizer({
        params,
        maxGradNorm: 1,
        noiseMultiplier: 1,
        expectedBatchSize: 14,
        event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.1 }),
        update: { kind: 'sgd', lr: 1, momentum: 0.5 },
        seed: 3,
      });
    const a = new Float32Array(D);
    const b = new Float32Array(D);
    const G1 = grads(5);
    const G2 = grads(6);
    const big = new Float32Array(2 * B * D);
    big.set(G1);
    big.set(G2, B * D);
    const o1 = mk(a);
    o1.accumulatePerSampleGrads(G1, B);
    o1.accumulatePerSampleGrads(G2, B);
    o1.step();
    const o2 = mk(b);
    o2.accumulatePerSampleGrads(big, 2 * B);
    const rep = o2.step();
    expect(rep.examples).toBe(2 * B);
    close(a, b, 1e-6);
  });

  it('second step uses fresh noise (offset advances) and momentum matches the reference', () => {
    const params = new Float32Array(D);
    const opt = new DpOptimizer({
      params,
      maxGradNorm: 1,
      noiseMultiplier: 1,
      expectedBatchSize: 1,
      event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.1 }),
      update: { kind: 'sgd', lr: 1, momentum: 0.9 },
      seed: 9,
    });
    opt.step();
    opt.step();
    const n0 = noiseOf(1, 9, 0);
    const n1 = noiseOf(1, 9, D);
    expect(Array.from(n0)).not.toEqual(Array.from(n1));
    const ref = Array.from(n0, (v, i) => -(v + (0.9 * v + n1[i]!)));
    close(params, ref, 1e-5);
  });

  it('an empty batch still steps: noise only, and the accountant records the event', () => {
    const params = new Float32Array(D);
    const accountant = new Accountant();
    const opt = new DpOptimizer({
      params,
      maxGradNorm: 2,
      noiseMultiplier: 1.1,
      expectedBatchSize: 4,
      event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.01 }),
      update: { kind: 'sgd', lr: 1 },
      seed: 1,
      accountant,
    });
    opt.accumulatePerSampleGrads(new Float32Array(0), 0);
    const rep = opt.step();
    expect(rep.examples).toBe(0);
    const n = noiseOf(2.2, 1, 0);
    close(
      params,
      Array.from(n, (v) => -v / 4),
    );
    expect(accountant.history).toEqual([
      { event: poissonSampledGaussian({ noiseMultiplier: 1.1, sampleRate: 0.01 }), count: 1 },
    ]);
  });

  it('rows holding NaN contribute nothing and are counted', () => {
    const params = new Float32Array(D);
    const opt = new DpOptimizer({
      params,
      maxGradNorm: 1,
      noiseMultiplier: 1,
      expectedBatchSize: 1,
      event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.5 }),
      update: { kind: 'sgd', lr: 1 },
      seed: 2,
      clipping: 'automatic',
    });
    const G = grads(3);
    G[D + 2] = NaN;
    opt.accumulatePerSampleGrads(G, B);
    const rep = opt.step();
    expect(rep.nonFinite).toBe(1);
    expect(params.every(Number.isFinite)).toBe(true);
  });

  it('Adam: the first step matches the reference', () => {
    const params = new Float32Array(D);
    const opt = new DpOptimizer({
      params,
      maxGradNorm: 1,
      noiseMultiplier: 0.5,
      expectedBatchSize: 7,
      event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.1 }),
      update: { kind: 'adam', lr: 0.01 },
      seed: 5,
    });
    const G = grads(8);
    opt.accumulatePerSampleGrads(G, B);
    opt.step();
    const sum = refClipSum(G, 'flat', 1, []);
    const n = noiseOf(0.5, 5, 0);
    // One Adam step from zero moments moves by lr·g/(|g| + eps·...) ≈ lr·sign(g).
    close(
      params,
      Array.from(sum, (s, i) => -0.01 * Math.sign(s + n[i]!)),
      1e-4,
    );
  });

  it('clipFactors + addClippedSum (a trainer doing its own ghost clipping) equals the per-example path', () => {
    const mk = (params: Float32Array) =>
      new DpOptimizer({
        params,
        groupEnds: ends,
        maxGradNorm: 1,
        noiseMultiplier: 1,
        expectedBatchSize: 7,
        event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.1 }),
        update: { kind: 'sgd', lr: 1 },
        clipping: 'per-layer',
        seed: 8,
      });
    const G = grads(12);
    const a = new Float32Array(D);
    const b = new Float32Array(D);
    const o1 = mk(a);
    o1.accumulatePerSampleGrads(G, B);
    o1.step();
    const o2 = mk(b);
    const sq = new Float64Array(B * ends.length);
    for (let r = 0; r < B; r++) {
      let start = 0;
      ends.forEach((end, k) => {
        for (let j = start; j < end; j++) sq[r * ends.length + k]! += G[r * D + j]! ** 2;
        start = end;
      });
    }
    const f = o2.clipFactors(sq, B);
    expect(f).toHaveLength(3);
    expect(() => o2.step()).toThrow(/addClippedSum/);
    const sum = new Float32Array(D);
    for (let r = 0; r < B; r++) {
      let start = 0;
      ends.forEach((end, k) => {
        for (let j = start; j < end; j++) sum[j]! += f[k]![r]! * G[r * D + j]!;
        start = end;
      });
    }
    o2.addClippedSum(sum);
    o2.step();
    close(a, b, 1e-5);
    expect(() => o2.addClippedSum(sum)).toThrow(/called after clipFactors/);
    expect(() => o2.clipFactors(new Float64Array(2), B)).toThrow(
      'sqNorms.length must be batchSize x groups (21), received 2',
    );
  });

  it('stepAsync equals step bit for bit, and refuses other calls while its noise is drawn', async () => {
    const make = () =>
      new DpOptimizer({
        params: Float32Array.from({ length: D }, (_, i) => i / D),
        groupEnds: ends,
        maxGradNorm: 1.5,
        noiseMultiplier: 0.8,
        expectedBatchSize: 6.5,
        event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.1 }),
        update: { kind: 'sgd', lr: 0.1, momentum: 0.9 },
        seed: 11,
      });
    const a = make();
    const b = make();
    for (let t = 0; t < 3; t++) {
      a.accumulatePerSampleGrads(grads(20 + t), B);
      b.accumulatePerSampleGrads(grads(20 + t), B);
      const ra = a.step();
      const pending = b.stepAsync();
      expect(() => b.accumulatePerSampleGrads(grads(1), B)).toThrow(
        'accumulatePerSampleGrads must be called after the pending stepAsync() settles, received "a call while stepAsync() is in flight"',
      );
      expect(() => b.step()).toThrow(/step must be called after the pending stepAsync\(\) settles/);
      expect(() => b.getState()).toThrow(/getState must be called after/);
      expect(await pending).toEqual(ra);
      expect(b.params).toEqual(a.params);
    }
    expect(b.accountant.history).toEqual(a.accountant.history);
  });

  it('refuses bad arguments with clear errors', () => {
    const base = {
      params: new Float32Array(4),
      maxGradNorm: 1,
      noiseMultiplier: 1,
      expectedBatchSize: 2,
      event: (s: number) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.1 }),
      update: { kind: 'sgd' as const, lr: 0.1 },
    };
    expect(() => new DpOptimizer({ ...base, maxGradNorm: -1 })).toThrow(
      'maxGradNorm must be a positive finite number, received -1',
    );
    expect(() => new DpOptimizer({ ...base, noiseMultiplier: 'x' as never })).toThrow(TypeError);
    expect(() => new DpOptimizer({ ...base, groupEnds: [2, 3] })).toThrow(/groupEnds must be/);
    expect(() => new DpOptimizer({ ...base, groupEnds: [3, 2, 4] })).toThrow(
      /groupEnds must be increasing end offsets ending at params.length \(4\)/,
    );
    expect(() => new DpOptimizer({ ...base, update: { kind: 'rmsprop' } as never })).toThrow(
      /update.kind must be "sgd" or "adam"/,
    );
    expect(() => new DpOptimizer({ ...base, clipping: 'magic' as never })).toThrow(/clipping.kind must be/);
    expect(() => new DpOptimizer({ ...base, clipping: { kind: 'adaptive', targetQuantile: 2 } })).toThrow(
      /targetQuantile must be in \(0, 1\)/,
    );
    expect(() => new DpOptimizer({ ...base, seed: -1 })).toThrow(/seed must be/);
    const opt = new DpOptimizer(base);
    expect(() => opt.accumulatePerSampleGrads(new Float32Array(5), 2)).toThrow(
      'grads.length must be batchSize x params.length (8), received 5',
    );
    try {
      new DpOptimizer({ ...base, maxGradNorm: 0 });
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_DPFL_INVALID_ARGUMENT');
    }
  });
});
