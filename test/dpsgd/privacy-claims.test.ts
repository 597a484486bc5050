// Regressions for the false privacy claims of DP-SGD (issue 12, section 1): ghost clipping that
// left layers unclipped when the optimizer's groups were not the model's, adaptive clipping
// accounted as two independent releases, and the statistics outside ε (withheld on request).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeEpsilon, poissonSampledGaussian, type DpEvent } from '../../src/accounting/index.js';
import { DpOptimizer, PoissonSampler, Trainer, makePrivate, type ClippingRule } from '../../src/dpsgd/index.js';
import { floorF32 } from '../../src/dpsgd/clipping.js';
import { parseTrainArgs } from '../../src/cli/commands/train.js';
import { createModel } from '../../src/models/index.js';
import { syntheticDense } from '../../src/data/index.js';

const event = (s: number): DpEvent => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.01 });
/** Options every optimizer here shares (σ = 1, divisor 1, plain SGD at lr 1). */
const sgd = { kind: 'sgd' as const, lr: 1 };
const plain = { maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: 1, event, update: sgd };
/** makePrivate's options for a short run at σ = 1. */
const shortRun = (datasetSize: number, batchSize: number, steps: number) => ({
  datasetSize,
  batchSize,
  noiseMultiplier: 1,
  delta: 1e-5,
  steps,
  maxGradNorm: 1,
  update: sgd,
});

/** The reproduction: MLP 16-8-4 and one example whose gradient is far above C. */
function mlp16() {
  const model = createModel({ kind: 'mlp', input: 'dense', inputDim: 16, classes: 4, hidden: [8] }, 1);
  const x = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + 1) * 3);
  return { model, batch: { size: 1, x, labels: Int32Array.of(2) } };
}

/** One step on one example with σ ≈ 0, lr 1, divisor 1: the example's clipped contribution. */
function contribution(opts: { groupEnds?: readonly number[]; clipping?: ClippingRule }, C: number): Float64Array {
  const { model, batch } = mlp16();
  const params = new Float32Array(model.paramCount); // the update lands here: params = −(sum + noise)
  const opt = new DpOptimizer({ ...plain, params, ...opts, maxGradNorm: C, noiseMultiplier: 1e-9, seed: 1 });
  model.forwardBackward(batch);
  opt.accumulateModel(model, 1);
  opt.step();
  return Float64Array.from(params, (v) => -v);
}

const norm = (v: ArrayLike<number>, from = 0, to = v.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
};

describe('ghost clipping bounds every layer whatever the optimizer groups', () => {
  const C = 0.01;

  it('flat clipping without groupEnds clips the whole gradient to C (was 3.59 = 359·C: layers left unscaled)', () => {
    const { model } = mlp16();
    expect(norm(contribution({ groupEnds: model.groupEnds }, C))).toBeLessThanOrEqual(C * (1 + 1e-5));
    const c = contribution({}, C);
    expect(norm(c)).toBeLessThanOrEqual(C * (1 + 1e-5));
    expect(norm(c)).toBeGreaterThan(C * 0.999); // clipped, not dropped
    for (const kind of ['adaptive', 'automatic'] as const) {
      expect(norm(contribution({ clipping: { kind } }, C))).toBeLessThanOrEqual(C * (1 + 1e-5));
    }
  });

  it('per-layer clipping takes the model groups or a coarsening of them, and refuses any other layout', () => {
    const { model } = mlp16();
    const ends = model.groupEnds; // [136, 172]
    const perLayer = { kind: 'per-layer' } as const;
    const c = contribution({ groupEnds: ends, clipping: perLayer }, C);
    expect(norm(c, 0, ends[0])).toBeLessThanOrEqual(C * Math.sqrt(ends[0]! / ends[1]!) * (1 + 1e-5));
    expect(norm(c)).toBeLessThanOrEqual(C * (1 + 1e-5));
    // One group is a coarsening of the model's two: both layers are scaled by its one factor.
    expect(norm(contribution({ clipping: perLayer }, C))).toBeLessThanOrEqual(C * (1 + 1e-5));
    const err = (() => {
      try {
        contribution({ groupEnds: [100, ends[1]!], clipping: perLayer }, C);
      } catch (e) {
        return e as Error & { code?: string };
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(RangeError);
    expect(err?.code).toBe('ERR_DPFL_INVALID_ARGUMENT');
    expect(err?.message).toBe(
      "groupEnds must be the model's groupEnds [136, 172] or a coarsening of them (per-layer clipping), " +
        'received Array(2)',
    );
  });

  it("refuses a batch size other than the model's last forwardBackward, and a model that does not tile params", () => {
    const { model, batch } = mlp16();
    const opt = new DpOptimizer({ ...plain, params: new Float32Array(model.paramCount) });
    model.forwardBackward(batch);
    expect(() => opt.accumulateModel(model, 2)).toThrow(
      "batchSize must be the batch of the model's last forwardBackward (1), received 2",
    );
    const small = new DpOptimizer({ ...plain, params: new Float32Array(10) });
    expect(() => small.accumulateModel(model, 1)).toThrow(
      'model.groups must be contiguous groups covering params.length (10)',
    );
  });

  it('a model refuses a partial rowScales list and a norms buffer of the wrong size', () => {
    const { model, batch } = mlp16();
    model.forwardBackward(batch);
    const grad = new Float32Array(model.paramCount);
    expect(() => model.backwardParams(grad, [Float32Array.of(0.5)], false)).toThrow(
      'rowScales.length must be 0 or the number of groups (2), received 1',
    );
    expect(() => model.ghostSqNorms(new Float64Array(1), new Float64Array(1))).toThrow(
      'out must be a Float64Array of batch x groups (2), received Float64Array(1)',
    );
  });

  it('per-layer clipping refuses to clip once C (the noise basis) no longer covers the thresholds', () => {
    const opt = new DpOptimizer({ ...plain, params: new Float32Array(4), groupEnds: [2, 4], clipping: 'per-layer' });
    opt.setState({ ...opt.getState(), maxGradNorm: 1e-3 }); // e.g. a restored checkpoint's C
    expect(() => opt.accumulatePerSampleGrads(Float32Array.of(9, 9, 9, 9), 1)).toThrow(
      /^maxGradNorm must be at least √Σ C_k² = 1 under per-layer clipping \(noise std σ·C\), received 0.001$/,
    );
    expect(() => opt.clipFactors(new Float64Array(2), 1)).toThrow(/^maxGradNorm must be at least/);
  });

  it('clipFactors gives every group a factor vector under flat clipping (none indexes to undefined)', () => {
    const opt = new DpOptimizer({ ...plain, params: new Float32Array(6), groupEnds: [2, 4, 6] });
    const f = opt.clipFactors(Float64Array.of(4, 4, 1, 0, 0, 0), 2);
    expect(f).toHaveLength(3);
    for (const v of f) expect(Array.from(v)).toEqual([floorF32(1 / (3 + 1e-6)), 1]);
  });

  it('makePrivate derives the groups from a model and refuses groups or params that are not its', () => {
    const { model } = mlp16();
    const base = shortRun(100, 10, 5);
    const setup = makePrivate({ ...base, model, clipping: 'per-layer' });
    expect(setup.optimizer.groupEnds).toEqual(model.groupEnds);
    expect(setup.optimizer.params).toBe(model.params);
    expect(() => makePrivate({ ...base, model, groupEnds: [172] })).toThrow(
      "groupEnds must be the model's groupEnds [136, 172] (or absent), received Array(1)",
    );
    expect(() => makePrivate({ ...base, model, params: new Float32Array(172) })).toThrow(
      "params must be the model's params (or absent), received Float32Array(172)",
    );
  });
});

describe('adaptive clipping is accounted as one subsampled Gaussian', () => {
  const epsilon = (e: DpEvent, steps: number) =>
    computeEpsilon([{ event: e, count: steps }], 1e-5, { accountant: 'rdp' }).epsilon;
  const mnistLike = (countNoise: number) => ({
    params: new Float32Array(4),
    datasetSize: 60000,
    batchSize: 256,
    targetEpsilon: 3,
    delta: 1e-5,
    epochs: 5,
    maxGradNorm: 1,
    clipping: { kind: 'adaptive' as const, countNoise },
    update: { kind: 'sgd' as const, lr: 0.1 },
  });

  it('q = 256/60000, σ = 0.8, σ_b = 0.6, 1172 steps: charged as the mechanism run, ε ≈ 2.04 (was 1.09)', () => {
    const q = 256 / 60000;
    const opt = new DpOptimizer({
      params: new Float32Array(4),
      maxGradNorm: 1,
      noiseMultiplier: 0.8,
      expectedBatchSize: 256,
      event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: q }),
      update: { kind: 'sgd', lr: 1 },
      clipping: { kind: 'adaptive', countNoise: 0.6 },
    });
    // The mechanism: sum noise σ_Δ·C (sensitivity C), count noise σ_b (sensitivity ½), one sample.
    const sd = opt.gradientNoiseMultiplier();
    const joint = (sd ** -2 + (2 * 0.6) ** -2) ** -0.5;
    expect(joint).toBeCloseTo(0.8, 12);
    const eps = epsilon(opt.stepEvent(), 1172);
    expect(eps).toBeCloseTo(epsilon(poissonSampledGaussian({ noiseMultiplier: joint, sampleRate: q }), 1172), 10);
    expect(eps).toBeGreaterThan(2.0);
    expect(eps).toBeLessThan(2.1);
  });

  it('makePrivate at target ε = 3 with countNoise 2 spends at most 3 (was 3.14)', () => {
    const setup = makePrivate(mnistLike(2));
    const sd = setup.optimizer.gradientNoiseMultiplier();
    const joint = (sd ** -2 + (2 * 2) ** -2) ** -0.5;
    const spent = epsilon(poissonSampledGaussian({ noiseMultiplier: joint, sampleRate: 256 / 60000 }), setup.steps);
    expect(spent).toBeLessThanOrEqual(3);
    expect(spent).toBeGreaterThan(2.97); // calibrated, not wasteful
    // σ_b ≤ σ/2 leaves no σ_Δ: refused at setup, not at the first step.
    expect(() => makePrivate(mnistLike(0.1))).toThrow(/clipping.countNoise must be greater than noiseMultiplier \/ 2/);
  });
});

describe('statistics outside ε', () => {
  const data = syntheticDense({ size: 60, dim: 5, classes: 2, seed: 3 });
  const setup = (withhold?: boolean) => {
    const model = createModel({ kind: 'mlp', input: 'dense', inputDim: 5, classes: 2, hidden: [4] }, 2);
    const sampler = new PoissonSampler({ datasetSize: 60, sampleRate: 0.2, seed: 4 });
    const optimizer = new DpOptimizer({
      params: model.params,
      maxGradNorm: 1,
      noiseMultiplier: 1,
      expectedBatchSize: 12,
      event: (s) => sampler.event(s),
      update: { kind: 'sgd', lr: 0.1 },
      seed: 5,
      ...(withhold === undefined ? {} : { withholdUnnoisedStats: withhold }),
    });
    return { model, sampler, optimizer };
  };

  it('by default a step reports the realised batch size, the un-noised loss and the exact counts', () => {
    const { model, sampler, optimizer } = setup();
    const r = new Trainer({ model, data, sampler, optimizer, private: true }).step();
    expect(Object.keys(r).sort()).toEqual(['examples', 'loss', 'report', 'step']);
    expect(Object.keys(r.report!).sort()).toEqual([
      'clipped',
      'examples',
      'maxGradNorm',
      'noiseMultiplier',
      'nonFinite',
      'step',
    ]);
  });

  it('withholdUnnoisedStats (optimizer or trainer) leaves them out, absent not zero; same parameters', async () => {
    const plain = setup();
    new Trainer({ model: plain.model, data, sampler: plain.sampler, optimizer: plain.optimizer, private: true }).step();
    const a = setup(true);
    const ta = new Trainer({ model: a.model, data, sampler: a.sampler, optimizer: a.optimizer, private: true });
    expect(ta.withholdUnnoisedStats).toBe(true);
    const b = setup();
    const tb = new Trainer({ ...b, data, private: true, withholdUnnoisedStats: true });
    for (const r of [ta.step(), tb.step(), await ta.stepAsync(), await tb.stepAsync()]) {
      expect(Object.keys(r).sort()).toEqual(['report', 'step']);
      expect(Object.keys(r.report!).sort()).toEqual(['maxGradNorm', 'noiseMultiplier', 'step']);
    }
    const c = setup(true);
    new Trainer({ model: c.model, data, sampler: c.sampler, optimizer: c.optimizer, private: true }).step();
    expect(Array.from(c.model.params)).toEqual(Array.from(plain.model.params));
    expect(() => setup('yes' as unknown as boolean)).toThrow('withholdUnnoisedStats must be a boolean, received "yes"');
  });

  it('dpfl train --withhold-unnoised-stats sets the mode; makePrivate passes it to the optimizer', () => {
    expect(parseTrainArgs(['--withhold-unnoised-stats']).withholdUnnoisedStats).toBe(true);
    expect(parseTrainArgs([]).withholdUnnoisedStats).toBe(false);
    const p = makePrivate({ ...shortRun(10, 2, 1), params: new Float32Array(3), withholdUnnoisedStats: true });
    p.optimizer.accumulatePerSampleGrads(Float32Array.of(5, 0, 0), 1);
    expect(Object.keys(p.optimizer.step()).sort()).toEqual(['maxGradNorm', 'noiseMultiplier', 'step']);
  });

  const main = join(process.cwd(), 'dist', 'cli', 'main.js');
  it.skipIf(!existsSync(main))('dpfl train --withhold-unnoised-stats prints no loss, no examples/s (built CLI)', () => {
    const args = [main, 'train', '--dataset', 'synthetic', '--model', 'linear', '--epochs', '1', '--batch-size', '64'];
    args.push('--seed', '3');
    const withheld = spawnSync(process.execPath, [...args, '--json', '--withhold-unnoised-stats'], {
      encoding: 'utf8',
    });
    expect(withheld.status).toBe(0);
    expect(withheld.stderr).toMatch(/step 50\/50 {2}ε [0-9.]+ {2}[0-9.]+ steps\/s/);
    expect(withheld.stderr).not.toMatch(/loss|examples\/s/);
    expect(JSON.parse(withheld.stdout).withholdUnnoisedStats).toBe(true);
    const shown = spawnSync(process.execPath, args, { encoding: 'utf8' });
    expect(shown.stderr).toMatch(/step 50\/50 {2}loss [0-9.]+ {2}ε [0-9.]+ {2}[0-9]+ examples\/s/);
  });
});
