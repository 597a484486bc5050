// Ghost-clipped steps of a built-in model against the per-example reference, samplers and the
// events the accountant receives, makePrivate's calibration and budget guard, adaptive clipping,
// and bit-identical resume from checkpoints.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addGaussianNoise } from '../../src/kernels/noise.js';
import {
  poissonSampledGaussian,
  sampledWithoutReplacementGaussian,
  type PrivacyAccountant,
} from '../../src/accounting/index.js';
import {
  DpOptimizer,
  FixedSizeSampler,
  PoissonSampler,
  Trainer,
  createRun,
  makePrivate,
  restoreRun,
  saveRun,
  type Run,
  type RunConfig,
} from '../../src/dpsgd/index.js';
import { createModel } from '../../src/models/index.js';
import { gatherBatch, syntheticDense } from '../../src/data/index.js';

/** The ledger of a private run (a non-private run has none). */
function ledger(run: Run): PrivacyAccountant {
  if (!(run.optimizer instanceof DpOptimizer)) throw new Error('expected a private run');
  return run.optimizer.accountant;
}

describe('ghost clipping in the optimizer', () => {
  it('a private step of an MLP equals clip-and-sum of materialised per-example gradients plus the seeded noise', () => {
    const data = syntheticDense({ size: 30, dim: 9, classes: 3, seed: 2 });
    const model = createModel({ kind: 'mlp', input: 'dense', inputDim: 9, classes: 3, hidden: [6] }, 4);
    const p0 = model.params.slice();
    const rows = Int32Array.from({ length: 12 }, (_, i) => i);
    const per = Array.from(rows, (r) => {
      const g = new Float32Array(model.paramCount);
      model.forwardBackward(gatherBatch(data, Int32Array.of(r)));
      model.backwardParams(
        g,
        model.groups.map(() => null),
        false,
      );
      return g;
    });
    const C = 0.3;
    const opt = new DpOptimizer({
      params: model.params,
      groupEnds: model.groupEnds,
      maxGradNorm: C,
      noiseMultiplier: 1,
      expectedBatchSize: 10,
      event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.3 }),
      update: { kind: 'sgd', lr: 0.5 },
      seed: 17,
    });
    model.forwardBackward(gatherBatch(data, rows));
    opt.accumulateModel(model, rows.length);
    const rep = opt.step();
    expect(rep.clipped).toBeGreaterThan(0);
    const noise = addGaussianNoise(new Float32Array(model.paramCount), C, { seed: 17, stream: 0, offset: 0 });
    for (let j = 0; j < model.paramCount; j++) {
      let sum = 0;
      for (const g of per) {
        const n = Math.hypot(...g);
        sum += Math.min(1, C / (n + 1e-6)) * g[j]!;
      }
      const ref = p0[j]! - (0.5 * (sum + noise[j]!)) / 10;
      expect(Math.abs(model.params[j]! - ref)).toBeLessThanOrEqual(2e-6);
    }
  });
});

describe('samplers and their events', () => {
  it('Poisson: sizes vary around qN, empty batches happen, and the accountant gets poisson-sampled-gaussian per step', () => {
    const s = new PoissonSampler({ datasetSize: 50, sampleRate: 0.02, seed: 1 });
    const sizes = Array.from({ length: 400 }, () => s.next().length);
    expect(sizes.some((n) => n === 0)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0) / 400).toBeGreaterThan(0.7);
    expect(sizes.reduce((a, b) => a + b, 0) / 400).toBeLessThan(1.3);
    expect(s.event(1.2)).toEqual(poissonSampledGaussian({ noiseMultiplier: 1.2, sampleRate: 0.02 }));
  });

  it('without a seed the samplers draw from the OS CSPRNG (two samplers differ, sizes still ~ qN)', () => {
    const a = new PoissonSampler({ datasetSize: 2000, sampleRate: 0.1 });
    const b = new PoissonSampler({ datasetSize: 2000, sampleRate: 0.1 });
    const sa = a.next();
    expect(Array.from(sa)).not.toEqual(Array.from(b.next()));
    expect(sa.length).toBeGreaterThan(140);
    expect(sa.length).toBeLessThan(260);
    expect(new FixedSizeSampler({ datasetSize: 50, batchSize: 10 }).next()).toHaveLength(10);
  });

  it('fixed size: exactly b distinct indices, event sampled-without-replacement with σ/2 (replace-one sensitivity 2C)', () => {
    const s = new FixedSizeSampler({ datasetSize: 20, batchSize: 7, seed: 3 });
    for (let i = 0; i < 20; i++) {
      const b = s.next();
      expect(b.length).toBe(7);
      expect(new Set(b).size).toBe(7);
    }
    expect(s.event(2)).toEqual(
      sampledWithoutReplacementGaussian({ noiseMultiplier: 1, sampleSize: 7, datasetSize: 20 }),
    );
    expect(() => new FixedSizeSampler({ datasetSize: 5, batchSize: 6 })).toThrow(
      'batchSize must be at most datasetSize (5), received 6',
    );
    expect(() => new PoissonSampler({ datasetSize: 5, sampleRate: 0 })).toThrow(
      'sampleRate must be in (0, 1], received 0',
    );
  });

  it('the trainer records exactly one event per step, empty batches included', () => {
    const data = syntheticDense({ size: 40, dim: 4, classes: 2 });
    const model = createModel({ kind: 'linear', input: 'dense', inputDim: 4, classes: 2 });
    const setup = makePrivate({
      params: model.params,
      groupEnds: model.groupEnds,
      datasetSize: 40,
      sampleRate: 0.01,
      noiseMultiplier: 1,
      delta: 1e-5,
      steps: 30,
      maxGradNorm: 1,
      update: { kind: 'sgd', lr: 0.1 },
      seed: 5,
    });
    const trainer = new Trainer({ model, data, sampler: setup.sampler, optimizer: setup.optimizer, private: true });
    let empty = 0;
    trainer.run(30, (r) => (empty += r.examples === 0 ? 1 : 0));
    expect(empty).toBeGreaterThan(0);
    expect(setup.accountant.history).toEqual([
      { event: poissonSampledGaussian({ noiseMultiplier: 1, sampleRate: 0.01 }), count: 30 },
    ]);
  });
});

describe('makePrivate', () => {
  it('calibrates σ for the target ε, and the budget guard stops training cleanly', () => {
    const data = syntheticDense({ size: 200, dim: 4, classes: 2 });
    const model = createModel({ kind: 'linear', input: 'dense', inputDim: 4, classes: 2 });
    const setup = makePrivate({
      params: model.params,
      datasetSize: 200,
      batchSize: 20,
      targetEpsilon: 2,
      delta: 1e-5,
      epochs: 2,
      maxGradNorm: 1,
      update: { kind: 'sgd', lr: 0.1 },
      seed: 1,
    });
    expect(setup.steps).toBe(20);
    const trainer = new Trainer({ model, data, sampler: setup.sampler, optimizer: setup.optimizer, private: true });
    expect(trainer.run(20).stoppedByBudget).toBe(false);
    const eps = setup.accountant.epsilon(1e-5);
    expect(eps).toBeLessThanOrEqual(2);
    expect(eps).toBeGreaterThan(1.9);
    const before = model.params.slice();
    expect(trainer.run(40).stoppedByBudget).toBe(true);
    expect(setup.optimizer.steps).toBe(20);
    expect(Array.from(model.params)).toEqual(Array.from(before));
  });

  it('fixed-size sampling and adaptive clipping are calibrated through their own events', () => {
    const params = new Float32Array(3);
    const fixed = makePrivate({
      params,
      datasetSize: 100,
      batchSize: 10,
      sampling: 'fixed-size',
      targetEpsilon: 3,
      delta: 1e-5,
      steps: 50,
      maxGradNorm: 1,
      update: { kind: 'sgd', lr: 0.1 },
    });
    expect(fixed.optimizer.stepEvent()).toEqual(
      sampledWithoutReplacementGaussian({
        noiseMultiplier: fixed.noiseMultiplier / 2,
        sampleSize: 10,
        datasetSize: 100,
      }),
    );
    const adaptive = makePrivate({
      params,
      datasetSize: 1000,
      batchSize: 100,
      targetEpsilon: 3,
      delta: 1e-5,
      steps: 50,
      maxGradNorm: 1,
      clipping: 'adaptive',
      update: { kind: 'sgd', lr: 0.1 },
    });
    // Sum and count on one sample: one subsampled Gaussian at σ (Andrew et al. 2021, Theorem 1).
    expect(adaptive.optimizer.stepEvent()).toEqual(
      poissonSampledGaussian({ noiseMultiplier: adaptive.noiseMultiplier, sampleRate: 0.1 }),
    );
    expect(adaptive.optimizer.gradientNoiseMultiplier()).toBeGreaterThan(adaptive.noiseMultiplier);
    expect(() =>
      makePrivate({
        params,
        datasetSize: 100,
        batchSize: 10,
        targetEpsilon: 3,
        noiseMultiplier: 1,
        delta: 1e-5,
        steps: 5,
        maxGradNorm: 1,
        update: { kind: 'sgd', lr: 0.1 },
      }),
    ).toThrow(/noiseMultiplier must be absent/);
    expect(() =>
      makePrivate({
        params,
        datasetSize: 100,
        targetEpsilon: 3,
        delta: 1e-5,
        steps: 5,
        maxGradNorm: 1,
        update: { kind: 'sgd', lr: 0.1 },
      }),
    ).toThrow(/batchSize must be an integer in \[1, datasetSize = 100\]/);
    expect(() =>
      makePrivate({
        params,
        datasetSize: 100,
        batchSize: 10,
        targetEpsilon: 3,
        delta: 2,
        steps: 5,
        maxGradNorm: 1,
        update: { kind: 'sgd', lr: 0.1 },
      }),
    ).toThrow('delta must be in (0, 1), received 2');
  });

  it('adaptive clipping moves C towards the target quantile of the norms', () => {
    const data = syntheticDense({ size: 400, dim: 8, classes: 2 });
    const model = createModel({ kind: 'linear', input: 'dense', inputDim: 8, classes: 2 });
    const setup = makePrivate({
      params: model.params,
      groupEnds: model.groupEnds,
      datasetSize: 400,
      batchSize: 100,
      noiseMultiplier: 1,
      delta: 1e-5,
      steps: 40,
      maxGradNorm: 50,
      clipping: { kind: 'adaptive', targetQuantile: 0.5 },
      update: { kind: 'sgd', lr: 0.01 },
      seed: 2,
    });
    new Trainer({ model, data, sampler: setup.sampler, optimizer: setup.optimizer, private: true }).run(40);
    // Norms here are O(1): starting from C = 50, the median estimate must have come down a lot.
    expect(setup.optimizer.maxGradNorm).toBeLessThan(5);
  });
});

describe('checkpoints', () => {
  const config: RunConfig = {
    dataset: 'synthetic',
    model: 'mlp',
    epsilon: 5,
    delta: 1e-5,
    epochs: 1,
    batchSize: 64,
    clipping: 'flat',
    maxGradNorm: 1,
    nonPrivate: false,
    seed: 12,
    optimizer: 'sgd',
    lr: 0.5,
    momentum: 0.9,
    maxPhysicalBatch: 40,
  };

  it('N steps, save, load, N more is bit-identical to 2N steps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpfl-ck-'));
    const straight = createRun(config);
    straight.trainer.run(10);
    const a = createRun(config);
    a.trainer.run(5);
    saveRun(a, join(dir, 'ck'));
    const b = createRun(config);
    restoreRun(b, join(dir, 'ck'));
    b.trainer.run(10);
    expect(Buffer.from(b.model.params.buffer).equals(Buffer.from(straight.model.params.buffer))).toBe(true);
    expect(ledger(b).toJSON()).toEqual(ledger(straight).toJSON());
  });

  it('runAsync stops cleanly when asked, and a resumed run continues bit-identically', async () => {
    const straight = createRun(config);
    straight.trainer.run(8);
    const a = createRun(config);
    let n = 0;
    const r = await a.trainer.runAsync(
      8,
      () => n++,
      () => n >= 3,
    );
    expect(r).toEqual({ stoppedByBudget: false, interrupted: true });
    expect(a.optimizer.steps).toBe(3);
    const dir = mkdtempSync(join(tmpdir(), 'dpfl-ck-'));
    saveRun(a, join(dir, 'ck'));
    const b = createRun(config);
    restoreRun(b, join(dir, 'ck'));
    expect((await b.trainer.runAsync(8)).interrupted).toBe(false);
    expect(Buffer.from(b.model.params.buffer).equals(Buffer.from(straight.model.params.buffer))).toBe(true);
  });

  it('refuses a corrupted or mismatched checkpoint and changes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpfl-ck-'));
    const a = createRun(config);
    a.trainer.run(2);
    const file = join(dir, 'ck');
    saveRun(a, file);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
    writeFileSync(join(dir, 'bad'), bytes);
    const b = createRun(config);
    const before = b.model.params.slice();
    expect(() => restoreRun(b, join(dir, 'bad'))).toThrow(/checksum mismatch/);
    expect(() => restoreRun(createRun({ ...config, lr: 0.1 }), file)).toThrow(/checkpoint configuration must be/);
    writeFileSync(join(dir, 'junk'), 'hello');
    expect(() => restoreRun(b, join(dir, 'junk'))).toThrow(/not a dpfl checkpoint/);
    expect(Array.from(b.model.params)).toEqual(Array.from(before));
    expect(b.optimizer.steps).toBe(0);
    expect(existsSync(`${file}.tmp-${process.pid}`)).toBe(false);
  });
});
