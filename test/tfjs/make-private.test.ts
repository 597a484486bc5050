// dpfl/tfjs makePrivateTrainer on the cpu backend: the calibrated ε is what a fit spends, empty Poisson
// batches, the budget guard, one step against a float64 clip + sum + scale + SGD reference, Adam,
// save/load continuing bit for bit, learning a separable task, typed errors, no tensor leak.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BudgetExceededError } from '../../src/accounting/index.js';
import { Random } from '../../src/data/random.js';
import { makePrivateTrainer, type PrivateOptions } from '../../src/tfjs/make-private.js';
import { perExampleClippedGradients } from '../../src/tfjs/per-example.js';

const F = 4;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Two Gaussian blobs (means ±1.5 on every feature), one-hot labels. */
function blobs(n: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D; labels: number[] } {
  const rng = new Random(seed);
  const xs: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    labels.push(c);
    for (let j = 0; j < F; j++) xs.push((c === 0 ? -1.5 : 1.5) + rng.normal());
  }
  return { x: tf.tensor2d(xs, [n, F]), y: tf.oneHot(tf.tensor1d(labels, 'int32'), 2) as tf.Tensor2D, labels };
}

function classifier(hidden = 0): tf.Sequential {
  const model = tf.sequential();
  if (hidden > 0) model.add(tf.layers.dense({ units: hidden, activation: 'relu', inputShape: [F] }));
  model.add(tf.layers.dense({ units: 2, activation: 'softmax', ...(hidden > 0 ? {} : { inputShape: [F] }) }));
  return model;
}

function base(n: number, b: number, extra: Partial<PrivateOptions> = {}): PrivateOptions {
  return {
    datasetSize: n,
    batchSize: b,
    targetEpsilon: 2,
    delta: 1e-5,
    epochs: 2,
    maxGradNorm: 1,
    optimizer: tf.train.sgd(0.1),
    loss: 'categoricalCrossentropy',
    seed: 7,
    ...extra,
  };
}

async function weights(model: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
}

describe('dpfl/tfjs makePrivateTrainer', () => {
  it('a fit of the planned epochs spends the calibrated ε; the budget guard refuses one step more', async () => {
    const { x, y } = blobs(60, 1);
    const model = classifier();
    const trainer = makePrivateTrainer(model, base(60, 6));
    expect(trainer.steps).toBe(20);
    const batches: number[] = [];
    const out = await trainer.fit(x, y, { callbacks: { onBatchEnd: (_, logs) => void batches.push(logs.size ?? -1) } });
    expect(out.stoppedByBudget).toBe(false);
    expect(out.epoch).toEqual([0, 1]);
    expect(batches.length).toBe(20);
    expect(trainer.accountant.releases).toBe(20);
    const eps = trainer.epsilon();
    expect(eps).toBeLessThanOrEqual(2);
    expect(eps).toBeGreaterThan(2 * 0.99);
    expect(out.history.epsilon[1]).toBe(eps);
    // One step past the plan: refused, nothing changed.
    const before = await weights(model);
    const tensors = tf.memory().numTensors;
    await expect(trainer.step(x.slice(0, 3), y.slice(0, 3))).rejects.toBeInstanceOf(BudgetExceededError);
    expect(await weights(model)).toEqual(before);
    expect(trainer.accountant.releases).toBe(20);
    expect(trainer.epsilon()).toBe(eps);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(tensors + 4); // the two slices (x, y) and their shapes
    const more = await trainer.fit(x, y, { epochs: 1 });
    expect(more.stoppedByBudget).toBe(true);
    expect(trainer.accountant.releases).toBe(20);
  });

  it('an empty batch is a noise-only step: no backend error, ε charged, weights moved', async () => {
    const model = classifier();
    const trainer = makePrivateTrainer(model, base(50, 5, { targetEpsilon: undefined, noiseMultiplier: 1 }));
    const before = await weights(model);
    const r = await trainer.step(tf.zeros([0, F]), tf.zeros([0, 2]));
    expect(r).toMatchObject({ step: 0, examples: 0 });
    expect(r.loss).toBeUndefined();
    expect(trainer.accountant.releases).toBe(1);
    expect(trainer.epsilon()).toBeGreaterThan(0);
    expect(await weights(model)).not.toEqual(before);
    // Poisson at q = 1/50: about a third of the batches are empty.
    const { x, y } = blobs(50, 2);
    const small = makePrivateTrainer(
      classifier(),
      base(50, 1, { targetEpsilon: undefined, noiseMultiplier: 1, epochs: 1 }),
    );
    const sizes: number[] = [];
    await small.fit(x, y, { callbacks: { onBatchEnd: (_, logs) => void sizes.push(logs.size!) } });
    expect(sizes.length).toBe(50);
    expect(sizes.filter((s) => s === 0).length).toBeGreaterThan(5);
    expect(small.accountant.releases).toBe(50);
  });

  it('one step equals a float64 reference: per-example clip, sum, ÷ expected batch, plain SGD', async () => {
    // A linear model under squared error: ∇ℓ_i = 2 r_i (x_i, 1) with r_i = w·x_i + b − y_i.
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [F] })] });
    const lr = 0.3;
    const C = 0.5;
    const trainer = makePrivateTrainer(model, {
      ...base(40, 4, { targetEpsilon: undefined, noiseMultiplier: 1e-6 }),
      maxGradNorm: C,
      optimizer: tf.train.sgd(lr),
      loss: 'meanSquaredError',
    });
    const rng = new Random(3);
    const B = 5;
    const xs = Array.from({ length: B * F }, () => rng.normal());
    const ys = Array.from({ length: B }, () => rng.normal() * 3);
    const [w0, b0] = (await weights(model)) as [Float32Array, Float32Array];
    const sum = new Float64Array(F + 1);
    let clipped = 0;
    for (let i = 0; i < B; i++) {
      let r = b0[0]! - ys[i]!;
      for (let j = 0; j < F; j++) r += w0[j]! * xs[i * F + j]!;
      const g = [...xs.slice(i * F, (i + 1) * F).map((v) => 2 * r * v), 2 * r];
      const s = Math.min(1, C / (Math.hypot(...g) + 1e-6));
      if (s < 1) clipped++;
      for (let j = 0; j <= F; j++) sum[j]! += s * g[j]!;
    }
    expect(clipped).toBeGreaterThan(0);
    const result = await trainer.step(tf.tensor2d(xs, [B, F]), tf.tensor2d(ys, [B, 1]));
    expect(result.report.clipped).toBe(clipped);
    const [w1, b1] = (await weights(model)) as [Float32Array, Float32Array];
    const scale = lr / trainer.sampler.expectedBatchSize;
    for (let j = 0; j < F; j++) expect(w1[j]!).toBeCloseTo(w0[j]! - scale * sum[j]!, 5);
    expect(b1[0]!).toBeCloseTo(b0[0]! - scale * sum[F]!, 5);
  });

  it('Adam (tf.train.adam) applies the noisy gradient; save/load continues the ledger bit for bit', async () => {
    const { x, y } = blobs(40, 4);
    const model = classifier(3);
    const initial = model.getWeights().map((w) => w.clone());
    const options = (): PrivateOptions => base(40, 4, { optimizer: tf.train.adam(0.05), epochs: 2 });
    const a = makePrivateTrainer(model, options());
    await a.fit(x, y, { epochs: 1 });
    const state = JSON.parse(JSON.stringify(await a.save()));
    const mid = model.getWeights().map((w) => w.clone());
    expect((await weights(model)).every((w) => w.every(Number.isFinite))).toBe(true);
    expect(await weights(model)).not.toEqual(await Promise.all(initial.map((w) => w.data())));
    const epsMid = a.epsilon();
    await a.fit(x, y, { epochs: 1 });
    const after = await weights(model);
    // A fresh trainer on the mid-run weights, loaded from the saved state, takes the same steps.
    model.setWeights(mid);
    const b = makePrivateTrainer(model, options());
    await b.load(state);
    expect(b.accountant.releases).toBe(10);
    expect(b.epsilon()).toBe(epsMid);
    const out = await b.fit(x, y, { epochs: 1 });
    expect(out.epoch).toEqual([1]);
    expect(b.accountant.releases).toBe(b.steps);
    expect(b.epsilon()).toBeLessThanOrEqual(2);
    expect(await weights(model)).toEqual(after);
    await expect(b.load({ ...state, noiseMultiplier: 3 })).rejects.toThrow(/state.noiseMultiplier/);
    tf.dispose([...initial, ...mid]);
  });

  it('learns a separable task at ε = 8 (accuracy > 0.9)', async () => {
    const { x, y, labels } = blobs(300, 5);
    const model = classifier();
    const trainer = makePrivateTrainer(model, {
      ...base(300, 30),
      targetEpsilon: 8,
      epochs: 3,
      optimizer: tf.train.adam(0.1),
      withholdUnnoisedStats: false,
    });
    const history = await trainer.fit(x, y);
    expect(history.history.loss.every(Number.isFinite)).toBe(true);
    const predicted = (await (model.predict(x) as tf.Tensor).argMax(-1).data()) as Int32Array;
    const accuracy = labels.filter((l, i) => predicted[i] === l).length / labels.length;
    expect(accuracy).toBeGreaterThan(0.9);
    expect(trainer.epsilon()).toBeLessThanOrEqual(8);
  });

  it('refuses bad options with typed errors', () => {
    const model = classifier();
    const bad = (o: Partial<PrivateOptions>) => () =>
      makePrivateTrainer(model, { ...base(50, 5), ...o } as PrivateOptions);
    expect(bad({ datasetSize: undefined as unknown as number })).toThrow(/datasetSize must be a positive integer/);
    expect(bad({ batchSize: 51 })).toThrow(/batchSize must be an integer in \[1, datasetSize = 50\]/);
    expect(bad({ noiseMultiplier: 1 })).toThrow(/noiseMultiplier must be absent when targetEpsilon is given/);
    expect(bad({ loss: 'hinge' as 'meanSquaredError' })).toThrow(/loss must be one of/);
    expect(bad({ clipping: 'per-layer' })).toThrow(/clipping must be/);
    expect(bad({ optimizer: {} as tf.Optimizer })).toThrow(/optimizer must be a tf.Optimizer/);
    expect(bad({ gradients: 'nope' as 'ghost' })).toThrow(/gradients must be/);
    const logits = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [F] })] });
    expect(() => makePrivateTrainer(logits, base(50, 5))).toThrow(/linear output \(logits\)/);
    for (const f of [bad({ datasetSize: 0 }), bad({ loss: 'hinge' as 'meanSquaredError' })]) {
      try {
        f();
      } catch (e) {
        expect((e as { code?: string }).code).toBe('ERR_DPFL_INVALID_ARGUMENT');
      }
    }
  });

  it('a loss reduced over the batch is refused at the step (one loss per example is needed)', async () => {
    const trainer = makePrivateTrainer(classifier(), {
      ...base(50, 5, { targetEpsilon: undefined, noiseMultiplier: 1 }),
      loss: (yt, yp) => tf.losses.softmaxCrossEntropy(yt, yp),
    });
    const { x, y } = blobs(4, 6);
    await expect(trainer.step(x, y)).rejects.toThrow(/one loss per example/);
    expect(trainer.accountant.releases).toBe(0);
    // The optimizer is not left half-way: the next (valid) step goes through.
    await trainer.step(tf.zeros([0, F]), tf.zeros([0, 2]));
    expect(trainer.accountant.releases).toBe(1);
  });
});

describe('dpfl/tfjs makePrivateTrainer: clipping rules, sampling, functional models', () => {
  it("dpfl's adaptive and automatic clipping rules drive the factors", async () => {
    const { x, y } = blobs(40, 9);
    const adaptive = makePrivateTrainer(classifier(), {
      ...base(40, 8, { targetEpsilon: undefined, noiseMultiplier: 1 }),
      maxGradNorm: 50,
      clipping: { kind: 'adaptive', targetQuantile: 0.5, learningRate: 0.5, countNoise: 2 },
    });
    const cs: number[] = [];
    for (let i = 0; i < 3; i++) cs.push((await adaptive.step(x.slice(i * 8, 8), y.slice(i * 8, 8))).report.maxGradNorm);
    expect(cs[2]!).toBeLessThan(50); // every norm is far below C = 50: C shrinks toward the median
    const automatic = makePrivateTrainer(classifier(), {
      ...base(40, 8, { targetEpsilon: undefined, noiseMultiplier: 1 }),
      clipping: 'automatic',
    });
    const r = await automatic.step(x.slice(0, 8), y.slice(0, 8));
    expect(r.examples).toBe(8);
    expect(r.report.noiseMultiplier).toBe(1);
  });

  it('fixed-size sampling, and a functional model with two inputs', async () => {
    const a = tf.input({ shape: [2] });
    const b = tf.input({ shape: [2] });
    const merged = tf.layers.concatenate().apply([a, b]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(merged) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [a, b], outputs: out });
    const { x, y } = blobs(30, 10);
    const trainer = makePrivateTrainer(model, { ...base(30, 5), sampling: 'fixed-size', epochs: 1 });
    const sizes: number[] = [];
    const fit = await trainer.fit([x.slice([0, 0], [30, 2]), x.slice([0, 2], [30, 2])], y, {
      callbacks: { onBatchEnd: (_, logs) => void sizes.push(logs.size!) },
    });
    expect(fit.stoppedByBudget).toBe(false);
    expect(sizes).toEqual([5, 5, 5, 5, 5, 5]);
    expect(trainer.epsilon()).toBeLessThanOrEqual(2);
  });
});

describe('perExampleClippedGradients', () => {
  it('batch-of-one norms and the re-weighted sum, with no tensor left behind; B = 0 gives zeros', async () => {
    const model = classifier(3);
    const { x, y } = blobs(6, 8);
    const loss = (yt: tf.Tensor, yp: tf.Tensor) => tf.metrics.categoricalCrossentropy(yt, yp);
    const count = tf.memory().numTensors;
    const c = Float32Array.from([1, 0.5, 0, 2, 1, 0.25]);
    const res = await perExampleClippedGradients(model, x, y, loss, () => c);
    expect(tf.memory().numTensors).toBe(count);
    // Reference: each example on its own through tf.variableGrads.
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const ref = vars.map((v) => new Float64Array(v.size));
    for (let i = 0; i < 6; i++) {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(loss(y.slice(i, 1), model.apply(x.slice(i, 1)) as tf.Tensor)) as tf.Scalar,
        vars,
      );
      let sq = 0;
      for (const [k, v] of vars.entries()) {
        const g = grads[v.name]!.dataSync();
        for (let j = 0; j < g.length; j++) {
          sq += g[j]! * g[j]!;
          ref[k]![j]! += c[i]! * g[j]!;
        }
      }
      expect(res.sqNorms[i]!).toBeCloseTo(sq, 4);
      tf.dispose([value, ...Object.values(grads)]);
    }
    for (const [k, r] of ref.entries())
      for (let j = 0; j < r.length; j++) expect(res.grads[k]![j]!).toBeCloseTo(r[j]!, 4);
    expect(res.loss).toBeGreaterThan(0);
    const empty = await perExampleClippedGradients(model, tf.zeros([0, F]), tf.zeros([0, 2]), loss, (sq) => {
      expect(sq.length).toBe(0);
      return new Float32Array(0);
    });
    expect(empty.grads.map((g) => g.length)).toEqual(vars.map((v) => v.size));
    expect(empty.grads.every((g) => g.every((v) => v === 0))).toBe(true);
  });
});
