// A caller's own model whose train() is asynchronous (as tfjs model.fit is) must train in
// simulate(): every local step has to be awaited before the client's update is taken.
import { describe, expect, it } from 'vitest';
import { subset, type Dataset } from '../../src/data/dataset.js';
import { syntheticDense } from '../../src/data/synthetic.js';
import type { FlModel, LocalTrainingOptions } from '../../src/fl/model.js';
import { partitionData } from '../../src/fl/partition.js';
import { simulate } from '../../src/fl/simulate.js';

const later = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

/** Binary logistic regression, params [w (F), b], trained and evaluated only after a timer fires. */
class AsyncLogistic implements FlModel {
  readonly dim: number;
  pending = 0;
  constructor(readonly features: number) {
    this.dim = features + 1;
  }
  async init(): Promise<Float32Array> {
    await later();
    return new Float32Array(this.dim);
  }
  #z(p: Float32Array, x: Float32Array, i: number): number {
    let z = p[this.features]!;
    for (let d = 0; d < this.features; d++) z += p[d]! * x[i * this.features + d]!;
    return z;
  }
  async train(
    params: Float32Array,
    _global: Float32Array,
    data: Dataset,
    indices: ArrayLike<number>,
    o: LocalTrainingOptions,
  ): Promise<void> {
    this.pending++;
    await later();
    const f = this.features;
    const x = data.x!; // dense rows
    for (let e = 0; e < o.epochs; e++) {
      for (let j = 0; j < indices.length; j++) {
        const i = indices[j]!;
        const g = 1 / (1 + Math.exp(-this.#z(params, x, i))) - data.labels[i]!;
        for (let d = 0; d < f; d++) params[d] = params[d]! - o.lr * g * x[i * f + d]!;
        params[f] = params[f]! - o.lr * g;
      }
    }
    this.pending--;
  }
  async accuracy(params: Float32Array, data: Dataset): Promise<number> {
    await later();
    let correct = 0;
    for (let i = 0; i < data.size; i++) {
      if ((this.#z(params, data.x!, i) > 0 ? 1 : 0) === data.labels[i]) correct++;
    }
    return correct / data.size;
  }
}

describe('an asynchronous FlModel', () => {
  it('is awaited: simulate() reaches good accuracy and no fit is left running when it returns', async () => {
    const all = syntheticDense({ size: 1200, dim: 8, classes: 2, seed: 3, noise: 0.5 });
    const train = subset(
      all,
      Int32Array.from({ length: 1000 }, (_, i) => i),
    );
    const test = subset(
      all,
      Int32Array.from({ length: 200 }, (_, i) => 1000 + i),
    );
    const partition = partitionData(train, { kind: 'iid', clients: 20, seed: 1 });
    const model = new AsyncLogistic(8);
    const selection = { method: 'uniform' as const, perRound: 5 };
    const r = await simulate({ train, test, partition, model, rounds: 10, selection, local: { lr: 0.5 }, seed: 1 });
    expect(model.pending).toBe(0);
    // Every round applied a real (non-zero) update, and the model is far above chance (0.5).
    r.rounds.forEach((x) => expect(x.deltaNorm).toBeGreaterThan(0));
    expect(r.accuracy).toBeGreaterThan(0.9);
  });
});
