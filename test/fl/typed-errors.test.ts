// Issue 12 §6 for src/fl: every public entry (and every method of what it constructs) returns or
// throws a typed dpfl error. The root fuzzer cannot build valid FL objects from `anything`, so this
// builds them and fuzzes their methods, plus regressions for the worst findings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ContinualStreams,
  DpFedAvg,
  FederatedClient,
  FederatedServer,
  SecureAggregation,
  partitionData,
  ppsInclusion,
  selectClients,
  simulate,
} from '../../src/fl/index.js';
import { api } from '../public-api.js';
import { splitDataset } from '../../src/data/dataset.js';
import { syntheticWriters } from '../../src/data/synthetic.js';
import { SoftmaxRegression } from './softmax-model.js';
import { spamFromMessages } from '../../src/data/spam.js';
import { Random } from '../../src/data/random.js';
import { anything, CallerError } from '../fuzz/hostile.js';

function typed(e: unknown): boolean {
  if (e instanceof CallerError) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_DPFL_');
}

async function expectTypedOrReturn(call: () => unknown, label: string): Promise<void> {
  try {
    await call();
  } catch (e) {
    expect(typed(e), `${label}: ${String(e)}`).toBe(true);
  }
}

function detached(): Float64Array {
  const a = new Float64Array(4);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

const writers = syntheticWriters({ size: 60, dim: 3, classes: 2, writers: 4, seed: 3 });
const data = writers.dataset;

/** Valid FL objects, each with the methods to fuzz. */
function objects(): [string, object, string[]][] {
  const model = new SoftmaxRegression(3, 2);
  const client = new FederatedClient(0, model, data, () => [0, 1, 2], { epochs: 1, batchSize: 2, lr: 0.1, mu: 0 });
  const dp = new DpFedAvg([5, 5, 5, 5], 2, 'uniform', { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5, noiseSeed: 1n });
  const secagg = new SecureAggregation([1, 2, 3], 4, 1, 'seed');
  const server = new FederatedServer({
    params: new Float32Array(model.dim),
    activity: [5, 5, 5, 5],
    selection: { method: 'uniform', perRound: 2 },
    seed: 1,
  });
  const streams = new ContinualStreams(
    [Int32Array.of(0, 1, 2), Int32Array.of(3, 4)],
    { capacity: 2, policy: 'fifo', initial: 1, perRound: 1 },
    (k) => new Random(k),
  );
  return [
    ['SoftmaxRegression', model, ['init', 'train', 'accuracy']],
    ['FederatedClient', client, ['train']],
    ['DpFedAvg', dp, ['userWeight', 'finish']],
    ['SecureAggregation', secagg, ['mask', 'unmask', 'encode']],
    ['FederatedServer', server, ['beginRound', 'submit', 'endRound', 'setActivity']],
    ['ContinualStreams', streams, ['advance', 'sizes']],
  ];
}

describe('fl: typed errors from every entry', () => {
  it('methods of valid FL objects throw only typed errors on hostile arguments', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(5), fc.nat(3), fc.array(anything, { maxLength: 6 }), async (o, m, args) => {
        const [name, obj, methods] = objects()[o]!;
        const method = methods[m % methods.length]!;
        const f = (obj as Record<string, (...a: unknown[]) => unknown>)[method]!;
        await expectTypedOrReturn(() => f.apply(obj, args), `${name}#${method}`);
      }),
      { numRuns: 300, seed: 20261201 },
    );
  });

  it('a detached typed array is refused by name (selectClients, ppsInclusion, DpFedAvg, the server)', async () => {
    expect(() => ppsInclusion(detached(), 1)).toThrow(expect.objectContaining({ code: 'ERR_DPFL_INVALID_TYPE' }));
    expect(() => selectClients(detached(), { method: 'uniform', perRound: 1 }, new Random(1))).toThrow(
      /activity must be/,
    );
    expect(
      () => new DpFedAvg(detached() as never, 1, 'uniform', { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5 }),
    ).toThrow(/population must be/);
    const client = new FederatedClient(0, new SoftmaxRegression(3, 2), data, () => detached(), {
      epochs: 1,
      batchSize: 2,
      lr: 0.1,
      mu: 0,
    });
    await expect(client.train(new Float32Array(8), 0, new Random(1))).rejects.toThrow(/examples\(\) must be/);
  });

  it('hostile options are refused before any work (no hang on sizes that cannot be allocated)', () => {
    expect(() => syntheticWriters({ size: 2 ** 40, dim: 2 ** 20 })).toThrow(
      expect.objectContaining({ code: 'ERR_DPFL_INVALID_ARGUMENT' }),
    );
    const mails = Array(3).fill({ group: 'spam', text: 'x' });
    expect(() => spamFromMessages(mails, { representation: 'dense', buckets: 2 ** 31 })).toThrow(
      /messages.length × buckets/,
    );
    expect(() => spamFromMessages([{ group: 1, text: 'x' }] as never)).toThrow(/messages\[0\].group must be a string/);
    expect(() => partitionData(data, null as never)).toThrow(/options must be an object/);
    expect(() => splitDataset(data, { valueOf: () => 0.5 } as never, 1)).toThrow(/testFraction must be/);
    expect(() => splitDataset(data, 0.5, 1, { order: 'random' as never })).toThrow(/options.order must be/);
    const badOwners = { ids: writers.owners.ids, names: ['only-one'] };
    expect(() => splitDataset(data, 0.5, 1, { owners: badOwners })).toThrow(
      /options.owners.ids\[\d+\] must be an index/,
    );
    const badLabels = { ...data, labels: new Int32Array(data.size).fill(7) };
    expect(() => partitionData(badLabels, { kind: 'iid', clients: 2 })).toThrow(/data.labels\[0\] must be a class/);
    expect(() => new SecureAggregation([1, 2], 4, 5e-324)).toThrow(/bound must be/);
  });

  it('simulate checks its options before the first round', async () => {
    await expect(simulate(undefined as never)).rejects.toThrow(/options must be an object/);
    const partition = partitionData(data, { kind: 'iid', clients: 3, seed: 1 });
    const base = {
      train: data,
      test: data,
      partition,
      model: new SoftmaxRegression(3, 2),
      rounds: 1,
      selection: { method: 'uniform' as const, perRound: 2 },
    };
    await expect(simulate({ ...base, dropout: 2 })).rejects.toThrow(/options.dropout must be in \[0, 1\]/);
    await expect(simulate({ ...base, rounds: 1 })).resolves.toHaveProperty('rounds');
  });

  it('Rng and senderDomain are internals, not root exports (issue 13)', () => {
    expect('Rng' in api).toBe(false);
    expect('senderDomain' in api).toBe(false);
  });
});
