import { describe, expect, it } from 'vitest';
import { syntheticWriters } from '../../src/data/synthetic.js';
import { partitionData } from '../../src/fl/partition.js';
import { ClientStore, ContinualStreams } from '../../src/fl/store.js';
import { Random } from '../../src/data/random.js';

const { dataset, owners } = syntheticWriters({ size: 3000, dim: 8, classes: 5, writers: 30, seed: 2 });
const data = dataset;

function coversAll(clients: Int32Array[], n: number): boolean {
  const seen = new Uint8Array(n);
  for (const c of clients)
    for (const i of c) {
      if (seen[i]) return false;
      seen[i] = 1;
    }
  return seen.every((s) => s === 1);
}

/** Mean total-variation distance between each client's label mix and the global one. */
function labelSkew(h: number[][]): number {
  const total = h[0]!.map((_, c) => h.reduce((s, r) => s + r[c]!, 0));
  const n = total.reduce((a, b) => a + b, 0);
  return (
    h.reduce((s, r) => {
      const size = r.reduce((a, b) => a + b, 0);
      return s + r.reduce((t, v, c) => t + Math.abs(v / size - total[c]! / n), 0) / 2;
    }, 0) / h.length
  );
}

describe('partitions', () => {
  it('iid: a disjoint cover with near-equal sizes and histograms that add up', () => {
    const p = partitionData(data, { kind: 'iid', clients: 7, seed: 1 });
    expect(coversAll(p.clients, 3000)).toBe(true);
    expect(Math.max(...p.sizes) - Math.min(...p.sizes)).toBeLessThanOrEqual(1);
    p.labelHistograms.forEach((h, k) => expect(h.reduce((a, b) => a + b, 0)).toBe(p.sizes[k]));
  });
  it('label skew grows as α shrinks; α large is close to IID', () => {
    const skew = (alpha: number) =>
      labelSkew(partitionData(data, { kind: 'label', clients: 20, alpha, seed: 3 }).labelHistograms);
    const iid = labelSkew(partitionData(data, { kind: 'iid', clients: 20, seed: 3 }).labelHistograms);
    const p = partitionData(data, { kind: 'label', clients: 20, alpha: 0.1, seed: 3 });
    expect(coversAll(p.clients, 3000)).toBe(true);
    expect(skew(0.1)).toBeGreaterThan(skew(1));
    expect(skew(1)).toBeGreaterThan(skew(1000));
    expect(skew(1000)).toBeLessThan(iid + 0.05);
  });
  it('quantity skew: Dirichlet sizes, every client ≥ 1 example, disjoint cover', () => {
    const p = partitionData(data, { kind: 'quantity', clients: 25, beta: 0.3, seed: 4 });
    expect(coversAll(p.clients, 3000)).toBe(true);
    expect(Math.min(...p.sizes)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...p.sizes)).toBeGreaterThan(4 * (3000 / 25));
  });
  it('natural: one client per owner, or whole owners dealt to fewer clients', () => {
    const p = partitionData(data, { kind: 'natural', clients: 3000, seed: 0, owners });
    expect(p.clients.length).toBe(new Set(owners.ids).size);
    p.clients.forEach((c) => expect(new Set(Array.from(c, (i) => owners.ids[i])).size).toBe(1));
    const q = partitionData(data, { kind: 'natural', clients: 5, owners });
    expect(q.clients.length).toBe(5);
    expect(coversAll(q.clients, 3000)).toBe(true);
    const owner = new Map<number, number>();
    q.clients.forEach((c, k) =>
      c.forEach((i) => {
        const g = owners.ids[i]!;
        expect(owner.get(g) ?? k).toBe(k);
        owner.set(g, k);
      }),
    );
  });
  it('is reproducible from the seed and rejects bad options', () => {
    expect(partitionData(data, { kind: 'label', clients: 9, seed: 8 })).toEqual(
      partitionData(data, { kind: 'label', clients: 9, seed: 8 }),
    );
    expect(() => partitionData(data, { kind: 'label', clients: 9, alpha: 0 })).toThrow(
      /alpha must be a positive finite number/,
    );
    expect(() => partitionData(data, { kind: 'iid', clients: 0 })).toThrow(/clients must be an integer/);
    expect(() => partitionData(data, { kind: 'natural', clients: 3 })).toThrow(/only for a dataset with owners/);
    const short = { ids: owners.ids.subarray(1), names: owners.names };
    expect(() => partitionData(data, { kind: 'natural', clients: 3, owners: short })).toThrow(
      /options.owners.ids.length must be/,
    );
  });
});

describe('continual stores', () => {
  it('fifo keeps the newest `capacity` examples', () => {
    const s = new ClientStore(3, 'fifo', new Random(1));
    for (let i = 0; i < 10; i++) s.receive(i);
    expect([...s.items].sort((a, b) => a - b)).toEqual([7, 8, 9]);
    expect(s.seen).toBe(10);
  });
  it('reservoir keeps a uniform sample of the stream (Algorithm R)', () => {
    const counts = new Array<number>(20).fill(0);
    const R = 20000;
    for (let r = 0; r < R; r++) {
      const s = new ClientStore(5, 'reservoir', new Random(r));
      for (let i = 0; i < 20; i++) s.receive(i);
      s.items.forEach((i) => (counts[i]! += 1));
    }
    const p = 5 / 20;
    const sd = Math.sqrt((p * (1 - p)) / R);
    counts.forEach((c) => expect(Math.abs(c / R - p)).toBeLessThan(4.5 * sd));
  });
  it('streams deliver initial then per-round arrivals until exhausted', () => {
    const parts = [Int32Array.from([0, 1, 2, 3, 4, 5, 6]), Int32Array.from([7, 8])];
    const st = new ContinualStreams(
      parts,
      { capacity: 4, policy: 'fifo', initial: 2, perRound: 3 },
      (k, p) => new Random(k * 2 + (p === 'store' ? 0 : 1)),
    );
    expect(st.sizes()).toEqual([2, 2]);
    st.advance();
    expect(st.sizes()).toEqual([4, 2]);
    expect(st.stores[0]!.seen).toBe(5);
    st.advance();
    expect(st.stores[0]!.seen).toBe(7);
    expect(st.sizes()).toEqual([4, 2]);
  });
});
