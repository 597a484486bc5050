import { describe, expect, it } from 'vitest';
import { splitDataset } from '../../src/data/dataset.js';
import { syntheticWriters } from '../../src/data/synthetic.js';
import { SoftmaxRegression } from './softmax-model.js';
import { partitionData } from '../../src/fl/partition.js';
import { simulate, type SimulationOptions } from '../../src/fl/simulate.js';

const { dataset, owners } = syntheticWriters({ size: 2400, dim: 16, classes: 4, writers: 40, seed: 5 });
const { train, test } = splitDataset(dataset, 0.2, 1, { order: 'shuffled', owners });
const partition = partitionData(train, { kind: 'label', clients: 30, alpha: 0.3, seed: 2 });
const model = new SoftmaxRegression(16, 4);
const base: SimulationOptions = {
  train,
  test,
  partition,
  model,
  rounds: 12,
  selection: { method: 'uniform', perRound: 6 },
  seed: 4,
};

describe('simulation runner', () => {
  it('learns far above chance on a label-skewed partition and is reproducible from the seed', async () => {
    const a = await simulate(base);
    const b = await simulate(base);
    expect(a.accuracy).toBeGreaterThan(0.7); // 4 classes: chance is 0.25
    expect(a.rounds.map((r) => r.accuracy)).toEqual(b.rounds.map((r) => r.accuracy));
    expect(Array.from(a.params)).toEqual(Array.from(b.params));
    expect(a.clients).toBe(30);
    expect(a.rounds[0]!.accuracy).toBeLessThan(a.accuracy + 1e-9);
  });
  it('FedAdam, FedYogi, FedAvgM, FedProx and activity selection all train', async () => {
    for (const o of [
      { algorithm: 'fedadam', serverOptimizer: { lr: 0.05 } },
      { algorithm: 'fedyogi', serverOptimizer: { lr: 0.05 } },
      { algorithm: 'fedavgm' },
      { algorithm: 'fedprox', mu: 0.1 },
      { selection: { method: 'activity', perRound: 6 } },
      { selection: { method: 'activity', perRound: 6, replacement: true } },
      { aggregation: 'trimmed-mean', trim: 1 },
    ] as Array<Partial<SimulationOptions>>) {
      const r = await simulate({ ...base, ...o });
      expect(r.accuracy, JSON.stringify(o)).toBeGreaterThan(0.6);
    }
  });
  it('counts dropouts and stragglers past the deadline in the round reports', async () => {
    const r = await simulate({ ...base, rounds: 6, dropout: 0.3, deadline: 0.05, latencySpread: 1 });
    const dropped = r.rounds.reduce((s, x) => s + x.dropped!, 0);
    const late = r.rounds.reduce((s, x) => s + x.rejected!.late, 0);
    const accepted = r.rounds.reduce((s, x) => s + x.accepted!, 0);
    expect(dropped).toBeGreaterThan(0);
    expect(late).toBeGreaterThan(0);
    expect(dropped + late + accepted).toBe(6 * 6);
  });
  it('continual setting: devices store at most `capacity` examples, and rounds see only those', async () => {
    const r = await simulate({
      ...base,
      rounds: 8,
      continual: { capacity: 12, policy: 'reservoir', initial: 4, perRound: 4 },
    });
    expect(r.rounds[0]!.storedExamples).toBeLessThanOrEqual(30 * 4);
    r.rounds.forEach((x) => expect(x.storedExamples).toBeLessThanOrEqual(30 * 12));
    expect(r.rounds[7]!.storedExamples).toBeGreaterThan(r.rounds[0]!.storedExamples);
    expect(r.accuracy).toBeGreaterThan(0.5);
  });
  it('DP-FedAvg reports ε per round (non-decreasing) and still learns with moderate noise', async () => {
    const seen: number[] = [];
    const r = await simulate({
      ...base,
      rounds: 10,
      selection: { method: 'uniform', perRound: 10 },
      dp: { noiseMultiplier: 0.5, clipNorm: 1, adaptiveClip: { countNoise: 1 }, delta: 1e-4 },
      onRound: (x) => seen.push(x.epsilon!),
    });
    expect(seen.length).toBe(10);
    seen.slice(1).forEach((e, i) => expect(e).toBeGreaterThanOrEqual(seen[i]!));
    expect(r.epsilon).toBe(seen[9]);
    expect(r.delta).toBe(1e-4);
    expect(r.accuracy).toBeGreaterThan(0.4);
  });
});
