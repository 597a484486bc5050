import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isDpflError } from '../../src/errors.js';
import { ghostClippedGradients, type PerExampleLoss } from '../../src/tfjs/gradients.js';
import { batchOfOne, clippedSum } from './batch-of-one.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Mean squared error per example. */
const mse: PerExampleLoss = (y, p) => tf.mean(tf.reshape(tf.square(tf.sub(y, p)), [y.shape[0]!, -1]), 1);

/** Deterministic weights: N(0, 0.5²) from fixed seeds, so every run sees the same model. */
function seedWeights(model: tf.LayersModel, seed = 1): tf.LayersModel {
  const ws = model.getWeights().map((w, k) => tf.randomNormal(w.shape, 0, 0.5, 'float32', seed + k));
  model.setWeights(ws);
  tf.dispose(ws);
  return model;
}

function factorsFor(B: number): Float32Array {
  return Float32Array.from({ length: B }, (_, i) => 0.2 + ((i * 7919) % 13) / 10);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number) {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  for (let j = 0; j < expected.length; j++) scale = Math.max(scale, Math.abs(expected[j]!));
  for (let j = 0; j < expected.length; j++) {
    expect(Math.abs(actual[j]! - expected[j]!)).toBeLessThanOrEqual(rel * Math.max(scale, 1e-6));
  }
}

/** Ghost norms and clipped sums against B batch-of-one passes; no tensor may leak. */
async function check(model: tf.LayersModel, xs: tf.Tensor | tf.Tensor[], ys: tf.Tensor, loss: PerExampleLoss = mse) {
  const B = ys.shape[0]!;
  const ref = await batchOfOne(model, xs, ys, loss);
  const c = factorsFor(B);
  const before = tf.memory().numTensors;
  let seen: Float64Array | undefined;
  const res = await ghostClippedGradients(model, xs, ys, loss, (sq) => {
    seen = sq;
    return c;
  });
  expect(tf.memory().numTensors).toBe(before);
  expect(seen).toBe(res.sqNorms);
  expect(res.sqNorms.length).toBe(B);
  for (let i = 0; i < B; i++) {
    expect(ref.sqNorms[i]!).toBeGreaterThan(0);
    expect(Math.abs(res.sqNorms[i]! - ref.sqNorms[i]!)).toBeLessThanOrEqual(1e-4 * ref.sqNorms[i]!);
  }
  const want = clippedSum(ref, c);
  expect(res.grads.length).toBe(model.trainableWeights.length);
  res.grads.forEach((g, k) => expectClose(g, want[k]!, 1e-4));
  const meanLoss = tf.tidy(() => tf.mean(loss(ys, model.apply(xs) as tf.Tensor)).dataSync()[0]!);
  expect(res.loss).toBeCloseTo(meanLoss, 4);
  return res;
}

const normal = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

describe('ghostClippedGradients matches batch-of-one gradients', () => {
  it('Dense on rank-2 inputs', async () => {
    const m = tf.sequential({
      layers: [tf.layers.dense({ units: 5, activation: 'relu', inputShape: [4] }), tf.layers.dense({ units: 3 })],
    });
    await check(seedWeights(m), normal([6, 4], 10), normal([6, 3], 11));
  });

  it('Dense on rank-3 inputs (ghost and per-example branches), with and without bias', async () => {
    const ghost = tf.sequential({
      layers: [
        tf.layers.dense({ units: 7, activation: 'tanh', inputShape: [2, 6] }), // T=2: ghost (52 < 84)
        tf.layers.dense({ units: 3, useBias: false }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1 }),
      ],
    });
    await check(seedWeights(ghost), normal([5, 2, 6], 12), normal([5, 1], 13));
    const perExample = tf.sequential({
      layers: [tf.layers.dense({ units: 5, inputShape: [4, 3] }), tf.layers.flatten(), tf.layers.dense({ units: 2 })],
    });
    await check(seedWeights(perExample, 7), normal([5, 4, 3], 14), normal([5, 2], 15)); // T=4: per-example
  });

  it('Embedding with repeated ids', async () => {
    const m = tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 4, outputDim: 3, inputLength: 5 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const ids = tf.tensor2d([0, 1, 1, 3, 0, 2, 2, 2, 2, 1, 3, 0, 1, 0, 3, 1, 1, 1, 1, 1], [4, 5], 'int32');
    await check(seedWeights(m), ids, normal([4, 2], 16));
  });

  it('Conv1D: same, valid with stride 2, no bias', async () => {
    const m = tf.sequential({
      layers: [
        tf.layers.conv1d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [7, 2] }),
        tf.layers.conv1d({ filters: 2, kernelSize: 2, strides: 2, padding: 'valid' }),
        tf.layers.conv1d({ filters: 2, kernelSize: 3, padding: 'same', useBias: false }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1 }),
      ],
    });
    await check(seedWeights(m), normal([4, 7, 2], 17), normal([4, 1], 18));
  });

  it('Conv2D: stride 2 same, valid, uneven strides', async () => {
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({
          filters: 3,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          activation: 'relu',
          inputShape: [7, 6, 2],
        }),
        tf.layers.conv2d({ filters: 2, kernelSize: [2, 1], padding: 'valid' }),
        tf.layers.conv2d({ filters: 2, kernelSize: 2, strides: [1, 2], padding: 'same' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2 }),
      ],
    });
    await check(seedWeights(m), normal([3, 7, 6, 2], 19), normal([3, 2], 20));
  });

  it('computes no weight gradient in its backward pass (tfjs-backend-wasm has no Conv2DBackpropFilter)', async () => {
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: 'relu', inputShape: [6, 6, 1] }),
        tf.layers.conv2d({ filters: 2, kernelSize: 2, activation: 'relu' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, activation: 'relu' }),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const xs = normal([3, 6, 6, 1], 21);
    const ys = normal([3, 2], 22);
    const info = await tf.profile(async () => {
      await ghostClippedGradients(seedWeights(m), xs, ys, mse, () => factorsFor(3));
    });
    const kernels = info.kernels.map((k) => k.name);
    expect(kernels).toContain('Conv2DBackpropInput');
    expect(kernels).not.toContain('Conv2DBackpropFilter');
    expect(kernels).not.toContain('FusedConv2D');
    expect(kernels).not.toContain('_FusedMatMul');
  });

  it('LayerNormalization over the last axis and over two axes', async () => {
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ units: 4, inputShape: [3, 5] }),
        tf.layers.layerNormalization(),
        tf.layers.layerNormalization({ axis: [1, 2] }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1 }),
      ],
    });
    await check(seedWeights(m), normal([4, 3, 5], 21), normal([4, 1], 22));
  });

  it('a functional model with two inputs and two branches, a frozen layer and pass-through layers', async () => {
    const a = tf.input({ shape: [4] });
    const b = tf.input({ shape: [3] });
    const left = tf.layers.dense({ units: 3, activation: 'relu' }).apply(a) as tf.SymbolicTensor;
    const frozen = tf.layers.dense({ units: 3, trainable: false });
    const right = tf.layers.activation({ activation: 'tanh' }).apply(frozen.apply(b)) as tf.SymbolicTensor;
    const merged = tf.layers.concatenate().apply([left, right]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: 'sigmoid' }).apply(merged) as tf.SymbolicTensor;
    const m = seedWeights(tf.model({ inputs: [a, b], outputs: out }));
    expect(m.trainableWeights.length).toBe(4);
    await check(m, [normal([5, 4], 23), normal([5, 3], 24)], normal([5, 2], 25));
  });
  it('a Sequential nested inside a functional model', async () => {
    const inner = tf.sequential({
      layers: [tf.layers.dense({ units: 4, activation: 'elu', inputShape: [3] }), tf.layers.dense({ units: 2 })],
    });
    const x = tf.input({ shape: [3] });
    const out = tf.layers.dense({ units: 2 }).apply(inner.apply(x)) as tf.SymbolicTensor;
    await check(seedWeights(tf.model({ inputs: x, outputs: out })), normal([4, 3], 26), normal([4, 2], 27));
  });
});

describe('ghostClippedGradients edge cases', () => {
  const mlp = () =>
    seedWeights(
      tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] }), tf.layers.dense({ units: 2 })] }),
    );

  it('an empty batch returns zero gradients and no norms without touching the backend', async () => {
    const m = mlp();
    const xs = tf.zeros([0, 4]);
    const ys = tf.zeros([0, 2]);
    const before = tf.memory().numTensors;
    const res = await ghostClippedGradients(m, xs, ys, mse, () => new Float32Array(0));
    expect(tf.memory().numTensors).toBe(before);
    expect(res.sqNorms.length).toBe(0);
    expect(res.grads.map((g) => g.length)).toEqual([12, 3, 6, 2]);
    expect(res.grads.every((g) => g.every((v) => v === 0))).toBe(true);
  });

  it('factor 0 drops an example; bad factors are refused without leaking', async () => {
    const m = mlp();
    const xs = normal([3, 4], 30);
    const ys = normal([3, 2], 31);
    const ref = await batchOfOne(m, xs, ys, mse);
    const c = Float32Array.of(0, 1, 0);
    const res = await ghostClippedGradients(m, xs, ys, mse, () => c);
    res.grads.forEach((g, k) => expectClose(g, ref.grads[1]![k]!, 1e-5));
    const before = tf.memory().numTensors;
    for (const bad of [new Float32Array(2), Float32Array.of(1, Number.NaN, 1), [1, 1, 1]]) {
      await expect(ghostClippedGradients(m, xs, ys, mse, () => bad as Float32Array)).rejects.toSatisfy((e) =>
        isDpflError(e),
      );
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('Dropout in training: the clipped sum uses the gradients whose norms were measured', async () => {
    const m = seedWeights(
      tf.sequential({
        layers: [
          tf.layers.dense({ units: 8, activation: 'relu', inputShape: [4] }),
          tf.layers.dropout({ rate: 0.5 }),
          tf.layers.dense({ units: 2 }),
        ],
      }),
    );
    const xs = normal([6, 4], 32);
    const ys = normal([6, 2], 33);
    for (const j of [0, 3]) {
      let sq: Float64Array = new Float64Array(0);
      const res = await ghostClippedGradients(m, xs, ys, mse, (s) => {
        sq = s;
        return Float32Array.from({ length: 6 }, (_, i) => (i === j ? 1 : 0));
      });
      let norm = 0;
      for (const g of res.grads) for (const v of g) norm += v * v;
      expect(Math.abs(norm - sq[j]!)).toBeLessThanOrEqual(1e-4 * sq[j]! + 1e-9);
    }
  });

  it('refuses BatchNormalization, unsupported layers and shared layers with typed errors, without leaking', async () => {
    const bn = tf.sequential({
      layers: [
        tf.layers.dense({ units: 3, inputShape: [4] }),
        tf.layers.batchNormalization(),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const rnn = tf.sequential({ layers: [tf.layers.simpleRNN({ units: 2, inputShape: [3, 4] })] });
    const x = tf.input({ shape: [4] });
    const shared = tf.layers.dense({ units: 4 });
    const twice = tf.model({ inputs: x, outputs: shared.apply(shared.apply(x)) as tf.SymbolicTensor });
    const channelsFirst = tf.sequential({
      layers: [tf.layers.conv2d({ filters: 2, kernelSize: 2, dataFormat: 'channelsFirst', inputShape: [1, 4, 4] })],
    });
    const dilated = tf.sequential({
      layers: [tf.layers.conv2d({ filters: 2, kernelSize: 2, dilationRate: 2, inputShape: [5, 5, 1] })],
    });
    const cases: Array<[tf.LayersModel, tf.Tensor, tf.Tensor, RegExp]> = [
      [dilated, tf.ones([2, 5, 5, 1]), tf.ones([2, 3, 3, 2]), /dilationRate 1/],
      [bn, tf.ones([2, 4]), tf.ones([2, 2]), /BatchNormalization/],
      [rnn, tf.ones([2, 3, 4]), tf.ones([2, 2]), /SimpleRNN/],
      [twice, tf.ones([2, 4]), tf.ones([2, 4]), /shared/],
      [channelsFirst, tf.ones([2, 1, 4, 4]), tf.ones([2, 2, 3, 3]), /channelsLast/],
    ];
    for (const [m, xs, ys, msg] of cases) {
      const before = tf.memory().numTensors;
      const err = await ghostClippedGradients(m, xs, ys, mse, (s) => new Float32Array(s.length)).catch((e) => e);
      expect(isDpflError(err, 'ERR_DPFL_INVALID_ARGUMENT')).toBe(true);
      expect(String(err.message)).toMatch(msg);
      expect(tf.memory().numTensors).toBe(before);
    }
    // The refused shared layer is restored: the model still runs normally.
    expect((twice.predict(tf.ones([1, 4])) as tf.Tensor).shape).toEqual([1, 4]);
  });

  it('refuses a loss that is not one value per example', async () => {
    const m = mlp();
    const bad: PerExampleLoss = (y, p) => tf.mean(tf.square(tf.sub(y, p)));
    await expect(
      ghostClippedGradients(m, tf.ones([2, 4]), tf.ones([2, 2]), bad, () => new Float32Array(2)),
    ).rejects.toThrow(/shape \[2\]/);
  });
});
