import { describe, expect, it } from 'vitest';
import { BuiltinModel } from '../../src/fl/builtin-model.js';
import { splitDataset } from '../../src/data/dataset.js';
import { senderOwners } from '../../src/data/spam.js';
import { syntheticWriters } from '../../src/data/synthetic.js';
import { partitionData } from '../../src/fl/partition.js';
import { simulate } from '../../src/fl/simulate.js';
import { Random } from '../../src/data/random.js';

const { dataset, owners } = syntheticWriters({ size: 2000, dim: 12, classes: 3, writers: 20, seed: 3 });
const { train, test } = splitDataset(dataset, 0.25, 2, { order: 'shuffled', owners });

describe('built-in models (src/models) as FL clients', () => {
  it('FedProx with the built-in MLP learns on a label-skewed partition', async () => {
    const model = new BuiltinModel({ kind: 'mlp', inputDim: 12, input: 'dense', classes: 3, hidden: [16] }, 1);
    const partition = partitionData(train, { kind: 'label', clients: 20, alpha: 0.5, seed: 1 });
    const r = await simulate({
      train,
      test,
      partition,
      model,
      rounds: 8,
      selection: { method: 'uniform', perRound: 8 },
      algorithm: 'fedprox',
      mu: 0.01,
      estimator: 'self-normalized',
      seed: 3,
    });
    expect(r.params.length).toBe(12 * 16 + 16 + 16 * 3 + 3);
    expect(r.accuracy).toBeGreaterThan(0.6); // 3 classes: chance is 1/3
  });
  it('local training moves only towards the data and the proximal term pulls back to the global model', () => {
    const model = new BuiltinModel({ kind: 'linear', inputDim: 12, input: 'dense', classes: 3 }, 1);
    const global = model.init();
    const drift = (mu: number) => {
      const p = Float32Array.from(global);
      model.train(
        p,
        global,
        train,
        Array.from({ length: 200 }, (_, i) => i),
        { epochs: 3, batchSize: 10, lr: 0.2, mu },
        new Random(1),
      );
      return Math.hypot(...p.map((v, i) => v - global[i]!));
    };
    expect(drift(0)).toBeGreaterThan(0);
    expect(drift(1)).toBeLessThan(drift(0));
  });
  it('refuses data that is not a src/data Dataset, or labels outside its classes', () => {
    const model = new BuiltinModel({ kind: 'linear', inputDim: 12, input: 'dense', classes: 3 }, 1);
    const { kind: _k, ...bare } = train;
    expect(() => model.accuracy(model.init(), bare as never)).toThrow(/ds.kind must be "dense" or "bags"/);
    const bad = { ...train, labels: Int32Array.from(train.labels, (y, i) => (i === 5 ? 3 : y)) };
    expect(() => model.accuracy(model.init(), bad)).toThrow(/data.labels\[5\] must be a class in \[0, 3\)/);
  });
  it('sender owners index messages by their From: domain', () => {
    const g = senderOwners([
      { group: 'spam-1', text: 'From: a@x.com\n\n.' },
      { group: 'easy-ham-1', text: 'From: b@y.org\n\n.' },
      { group: 'spam-2', text: 'From: c@x.com\n\n.' },
    ]);
    expect(Array.from(g.ids)).toEqual([0, 1, 0]);
    expect(g.names).toEqual(['x.com', 'y.org']);
  });
});
