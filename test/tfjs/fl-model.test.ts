// dpfl/tfjs's FlModel adapter: a tf.LayersModel trained as a federated client by simulate() and
// by a FederatedServer driven by hand, on the cpu backend.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Dataset, splitDataset } from '../../src/data/dataset.js';
import { Random } from '../../src/data/random.js';
import { syntheticBags, syntheticWriters } from '../../src/data/synthetic.js';
import { FederatedClient } from '../../src/fl/client.js';
import { partitionData } from '../../src/fl/partition.js';
import { FederatedServer } from '../../src/fl/server.js';
import { simulate } from '../../src/fl/simulate.js';
import { tfjsFlModel } from '../../src/tfjs/fl-model.js';

const K = 4;
const F = 32;

/** A seeded 32→16→K MLP with a softmax output. */
function mlp(seed = 1, inputs = F): tf.Sequential {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [inputs], units: 16, activation: 'relu', kernelInitializer: init(seed) }),
      tf.layers.dense({ units: K, activation: 'softmax', kernelInitializer: init(seed + 1) }),
    ],
  });
}

const writers = syntheticWriters({ size: 1500, dim: F, classes: K, writers: 30, separation: 1.5, seed: 2 });
const split = splitDataset(writers.dataset, 0.2, 1, { owners: writers.owners });
const { train, test } = split;
const local = { epochs: 1, batchSize: 16, lr: 0.3, mu: 0 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('tfjsFlModel', () => {
  it('round-trips weights bit-exactly: params → model → params, and init is the weights at wrap time', async () => {
    const net = mlp();
    const before = net.getWeights().map((w) => w.dataSync().slice());
    const model = tfjsFlModel(net, { loss: 'categoricalCrossentropy' });
    expect(model.dim).toBe(F * 16 + 16 + 16 * K + K);
    const init = (await model.init(new Random(1))) as Float32Array;
    expect(init).toEqual(Float32Array.from(before.flatMap((w) => [...w])));
    // Arbitrary bit patterns (tiny, huge, negative zero) survive both directions unchanged.
    const rng = new Random(5);
    const params = Float32Array.from({ length: model.dim }, () => rng.normal() * 10 ** (rng.below(60) - 30));
    params[3] = -0;
    const sent = params.slice();
    await model.train(params, sent, train, [], { ...local, epochs: 0 }, rng);
    expect(new Uint32Array(params.buffer)).toEqual(new Uint32Array(sent.buffer));
    let offset = 0;
    for (const w of net.getWeights()) {
      expect(new Uint32Array((w.dataSync() as Float32Array).slice().buffer)).toEqual(
        new Uint32Array(sent.slice(offset, offset + w.size).buffer),
      );
      offset += w.size;
    }
    net.dispose();
  });

  it('federates: simulate() over a natural partition learns well above chance and leaks no tensor', async () => {
    const net = mlp();
    const model = tfjsFlModel(net, { loss: 'sparseCategoricalCrossentropy' });
    const partition = partitionData(train, { kind: 'natural', clients: 30, owners: split.owners!.train });
    const start = await model.accuracy(model.init(new Random(1)) as Float32Array, test);
    const tensors = tf.memory().numTensors;
    const run = () =>
      simulate({
        train,
        test,
        partition,
        model,
        rounds: 5,
        selection: { method: 'uniform', perRound: 10 },
        local: { epochs: 2, lr: 0.3 },
        seed: 3,
      });
    const r = await run();
    expect(tf.memory().numTensors).toBe(tensors);
    r.rounds.forEach((x) => expect(x.deltaNorm).toBeGreaterThan(0));
    // Chance is ≤ 0.5 here (the most common class); the untrained MLP is near it.
    expect(r.accuracy).toBeGreaterThan(0.8);
    expect(r.accuracy).toBeGreaterThan(start + 0.2);
    // Reproducible from the seed: init is the wrap-time snapshot, and batches follow dpfl's Random.
    expect((await run()).params).toEqual(r.params);
    net.dispose();
  });

  it('DP-FedAvg: simulate() with dp spends a finite ε and still learns', async () => {
    const net = mlp(7);
    const model = tfjsFlModel(net, { loss: 'categoricalCrossentropy', optimizer: (lr) => tf.train.sgd(lr) });
    const partition = partitionData(train, { kind: 'iid', clients: 60, seed: 1 });
    const tensors = tf.memory().numTensors;
    const r = await simulate({
      train,
      test,
      partition,
      model,
      rounds: 6,
      selection: { method: 'uniform', perRound: 30 },
      local: { epochs: 2, lr: 0.3 },
      dp: { noiseMultiplier: 0.5, clipNorm: 1, delta: 1e-4 },
      seed: 1,
    });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(r.epsilon).toBeGreaterThan(0);
    expect(Number.isFinite(r.epsilon)).toBe(true);
    expect(r.accuracy).toBeGreaterThan(0.6);
    net.dispose();
  });

  it('FedProx: a large μ keeps the local model closer to the global one', async () => {
    const net = mlp(3);
    const model = tfjsFlModel(net, { loss: 'categoricalCrossentropy' });
    const global = model.init(new Random(1)) as Float32Array;
    const rows = Int32Array.from({ length: 200 }, (_, i) => i);
    const distance = async (mu: number) => {
      const params = global.slice();
      await model.train(params, global, train, rows, { ...local, epochs: 3, mu }, new Random(4));
      return Math.hypot(...params.map((w, j) => w - global[j]!));
    };
    const free = await distance(0);
    expect(free).toBeGreaterThan(0);
    expect(await distance(5)).toBeLessThan(0.5 * free);
    net.dispose();
  });

  it('drives a FederatedServer by hand: two tfjs clients, one round', async () => {
    const net = mlp(5);
    const model = tfjsFlModel(net, { loss: 'categoricalCrossentropy' });
    const shares = [0, 1].map((k) => Int32Array.from({ length: 300 }, (_, i) => 2 * i + k));
    const server = new FederatedServer({
      params: model.init(new Random(1)) as Float32Array,
      activity: shares.map((s) => s.length),
      selection: { method: 'uniform', perRound: 2 },
      seed: 1,
    });
    const clients = shares.map((rows, k) => new FederatedClient(k, model, train, () => rows, local));
    const global = server.params.slice();
    const plan = server.beginRound(0);
    expect([...plan.clients].sort()).toEqual([0, 1]);
    for (const k of plan.clients) {
      const report = await clients[k]!.train(plan.params, plan.round, Random.derive(1, k));
      expect(server.submit(report, 1)).toBe('accepted');
    }
    const report = await server.endRound();
    expect(report.accepted).toBe(2);
    expect(server.params.some((w, j) => w !== global[j])).toBe(true);
    expect(await model.accuracy(server.params, test)).toBeGreaterThan(await model.accuracy(global, test));
    net.dispose();
  });

  it('refuses bags without toTensors, trains on them with it, and refuses a non-LayersModel', async () => {
    const bags = syntheticBags({ size: 200, rows: 64, classes: K, tokensPerExample: 6, seed: 1 });
    const plain = mlp(1, 64);
    const model = tfjsFlModel(plain, { loss: 'categoricalCrossentropy' });
    const params = model.init(new Random(1)) as Float32Array;
    const rows = [0, 1, 2];
    await expect(model.train(params, params.slice(), bags, rows, local, new Random(1))).rejects.toMatchObject({
      code: 'ERR_DPFL_INVALID_ARGUMENT',
      message: expect.stringContaining('toTensors'),
    });
    await expect(model.accuracy(params, bags)).rejects.toMatchObject({ code: 'ERR_DPFL_INVALID_ARGUMENT' });
    // Multi-hot rows of the bags' tokens, built by the caller.
    const toTensors = (ds: Dataset, indices: Int32Array) => {
      const x = new Float32Array(indices.length * ds.featureDim);
      indices.forEach((i, r) => {
        for (let t = ds.offsets![i]!; t < ds.offsets![i + 1]!; t++) x[r * ds.featureDim + ds.indices![t]!] = 1;
      });
      const labels = Int32Array.from(indices, (i) => ds.labels[i]!);
      return {
        xs: tf.tensor2d(x, [indices.length, ds.featureDim]),
        ys: tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), K)),
      };
    };
    const onBags = tfjsFlModel(plain, { loss: 'categoricalCrossentropy', toTensors });
    const tensors = tf.memory().numTensors;
    const all = Array.from({ length: bags.size }, (_, i) => i);
    const trained = params.slice();
    await onBags.train(trained, params, bags, all, { ...local, epochs: 5 }, new Random(2));
    expect(await onBags.accuracy(trained, bags)).toBeGreaterThan(await onBags.accuracy(params, bags));
    expect(tf.memory().numTensors).toBe(tensors);
    for (const notAModel of [{}, null, tf.zeros([2]), { apply() {}, predict() {}, getWeights() {} }]) {
      expect(() => tfjsFlModel(notAModel as never, { loss: 'categoricalCrossentropy' })).toThrow(
        expect.objectContaining({ code: 'ERR_DPFL_INVALID_TYPE' }),
      );
    }
    expect(() => tfjsFlModel(plain, { loss: 'hinge' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_DPFL_INVALID_ARGUMENT' }),
    );
    plain.dispose();
  });
});
