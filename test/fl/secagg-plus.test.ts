// SecAgg+ end to end (client engine + coordinator, messages through JSON): exact sums under
// dropouts at every stage, aborts below threshold, the client's refusals, and the graph.
import { describe, expect, it } from 'vitest';
import { SecAggClient } from '../../src/fl/client/secagg/client.js';
import { fromBase64Url, quantize, toBase64Url } from '../../src/fl/client/secagg/encoding.js';
import { SecAggError } from '../../src/fl/client/secagg/errors.js';
import { SecAggCoordinator } from '../../src/fl/net/secagg-coordinator.js';
import { graphParameters, NeighbourGraph } from '../../src/fl/net/secagg-graph.js';
import { runLocalRound } from '../../src/fl/net/secagg-local.js';
import { Random } from '../../src/data/random.js';
import { isDpflError } from '../../src/errors.js';
import { randomFloats } from '../reference/kernels.js';

const D = 64;
const CLIP = 1;

function updatesFor(clients: number[]): Map<number, Float32Array> {
  // Some norms above CLIP (clipped by the client), most below.
  return new Map(clients.map((u) => [u, randomFloats(D, u + 1, u % 5 === 0 ? 0.5 : 0.1)]));
}

function clipped(x: Float32Array): Float64Array {
  const n = Math.sqrt(x.reduce((s, v) => s + v * v, 0));
  const s = n > CLIP ? CLIP / n : 1;
  return Float64Array.from(x, (v) => Math.fround(v * s));
}

function pick(clients: number[], fraction: number, seed: number): Set<number> {
  const rng = new Random(seed);
  return new Set(clients.filter(() => rng.next() < fraction));
}

const ids = (k: number) => Array.from({ length: k }, (_, i) => 7 * i + 2);

async function expectSecAgg(p: Promise<unknown>, reason: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SecAggError);
  expect(isDpflError(e, 'ERR_DPFL_SECAGG')).toBe(true);
  expect((e as SecAggError).reason).toBe(reason);
}

describe('SecAgg+ protocol', () => {
  describe.each([10, 50, 200])('K = %i', (K) => {
    it.each([0, 0.2, 0.4])(
      'dropout %f before masking and before unmasking: exact sum',
      async (rate) => {
        const clients = ids(K);
        const co = new SecAggCoordinator({
          round: 3,
          clients,
          dim: D,
          clipNorm: CLIP,
          dropout: Math.max(0.1, rate),
          seed: K,
        });
        // k and t from the bounds for the dropout rate the round must survive.
        const updates = updatesFor(clients);
        // Half the dropouts leave before masking (never send y), half after (their y is in the sum).
        const before = pick(clients, rate / 2, 1);
        const after = new Set([...pick(clients, rate / 2, 2)].filter((u) => !before.has(u)));
        const { result } = await runLocalRound(co, { updates, dropBeforeMask: before, dropBeforeUnmask: after });
        expect(result.survivors).toEqual(clients.filter((u) => !before.has(u)));
        expect(result.dropped).toEqual([...before].sort((a, b) => a - b));
        for (const u of after) expect(result.survivors).toContain(u);
        const want = new Float64Array(D);
        for (const u of result.survivors) clipped(updates.get(u)!).forEach((v, i) => (want[i]! += v));
        // Each of the n survivors' values rounds by ≤ ½ unit, the float32 decode adds ≤ ½ ulp.
        const tol = result.survivors.length / co.scale;
        for (let i = 0; i < D; i++)
          expect(Math.abs(result.sum[i]! - want[i]!)).toBeLessThanOrEqual(tol + 1e-6 * Math.abs(want[i]!));
      },
      120_000,
    );
  });

  it('too many dropouts: a typed error and no sum', async () => {
    const clients = ids(20);
    const co = new SecAggCoordinator({
      round: 0,
      clients,
      dim: D,
      clipNorm: CLIP,
      neighbours: 8,
      threshold: 6,
      seed: 1,
    });
    const before = new Set(clients.slice(0, 12));
    await expectSecAgg(runLocalRound(co, { updates: updatesFor(clients), dropBeforeMask: before }), 'tooFewShares');
    expect(co.stage).toBe('aborted');
    await expectSecAgg(co.finish(), 'stage');
  });

  it('too few unmask answers: a typed error and no sum', async () => {
    const clients = ids(12);
    const co = new SecAggCoordinator({
      round: 0,
      clients,
      dim: D,
      clipNorm: CLIP,
      neighbours: 6,
      threshold: 4,
      seed: 2,
    });
    const after = new Set(clients.slice(0, 9));
    await expectSecAgg(runLocalRound(co, { updates: updatesFor(clients), dropBeforeUnmask: after }), 'tooFewShares');
  });

  it('one masked vector looks uniform: far from its encoding', async () => {
    const clients = ids(10);
    const co = new SecAggCoordinator({ round: 1, clients, dim: 4096, clipNorm: CLIP, seed: 3 });
    const x = randomFloats(4096, 9, 0.01);
    const c = new Map(clients.map((u) => [u, new SecAggClient(co.config(u))]));
    for (const [, cl] of c) co.receiveKeys(await cl.advertise());
    co.closeAdvertise();
    for (const [u, cl] of c) co.receiveShares(await cl.shareKeys(co.roster(u)));
    co.closeSharing();
    const u = clients[4]!;
    await c.get(u)!.receiveShares(co.inbox(u));
    const y = await c.get(u)!.mask(x);
    const q = quantize(x, co.scale);
    const mean = y.reduce((s, w) => s + w / 2 ** 32, 0) / y.length;
    // Uniform words: mean 0.5 with sd 1/√(12·4096) ≈ 0.0045; the encoding sits near 0 and 1.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.025);
    let same = 0;
    for (let i = 0; i < y.length; i++) if (y[i] === q[i]) same++;
    expect(same).toBeLessThan(5);
    const small = q.filter((w) => w < 2 ** 24 || w > 2 ** 32 - 2 ** 24).length;
    expect(small).toBe(q.length);
  });

  it('state survives toJSON / fromJSON mid-round', async () => {
    const clients = ids(15);
    const updates = updatesFor(clients);
    const co = new SecAggCoordinator({ round: 4, clients, dim: D, clipNorm: CLIP, seed: 4 });
    const c = new Map(clients.map((u) => [u, new SecAggClient(co.config(u))]));
    for (const [, cl] of c) co.receiveKeys(await cl.advertise());
    co.closeAdvertise();
    for (const [u, cl] of c) co.receiveShares(await cl.shareKeys(co.roster(u)));
    co.closeSharing();
    for (const [u, cl] of c) {
      await cl.receiveShares(co.inbox(u));
      co.receiveMasked(u, await cl.mask(updates.get(u)!));
    }
    const back = SecAggCoordinator.fromJSON(JSON.parse(JSON.stringify(co.toJSON())), co.sum);
    back.closeMasking();
    for (const [u, cl] of c) back.receiveUnmask(await cl.unmask(back.unmaskRequest(u)));
    const { sum } = await back.finish();
    const want = new Float64Array(D);
    for (const u of clients) clipped(updates.get(u)!).forEach((v, i) => (want[i]! += v));
    for (let i = 0; i < D; i++)
      expect(Math.abs(sum[i]! - want[i]!)).toBeLessThanOrEqual(clients.length / co.scale + 1e-6);
  });
});

describe('SecAgg+ client refusals', () => {
  async function masked(K = 8) {
    const clients = ids(K);
    const co = new SecAggCoordinator({
      round: 5,
      clients,
      dim: D,
      clipNorm: CLIP,
      neighbours: K - 1,
      threshold: 3,
      seed: 5,
    });
    const c = new Map(clients.map((u) => [u, new SecAggClient(co.config(u))]));
    for (const [, cl] of c) co.receiveKeys(await cl.advertise());
    co.closeAdvertise();
    for (const [u, cl] of c) co.receiveShares(await cl.shareKeys(co.roster(u)));
    co.closeSharing();
    return { clients, co, c };
  }

  it('refuses to reveal both shares of one neighbour, a non-neighbour, and too few survivors', async () => {
    const { clients, co, c } = await masked();
    const [u, v, w, x] = clients as [number, number, number, number];
    const cl = c.get(u)!;
    await cl.receiveShares(co.inbox(u));
    await cl.mask(updatesFor([u]).get(u)!);
    const req = (survivors: number[], dropped: number[]) => ({ round: 5, client: u, survivors, dropped });
    await expectSecAgg(cl.unmask(req([v, w, x], [v])), 'bothLists');
    await expectSecAgg(cl.unmask(req([v, w, 999], [])), 'notNeighbour');
    await expectSecAgg(cl.unmask(req([v, w], [x])), 'belowThreshold');
    // A refused request is not an answer: the honest request still gets one, then no other.
    const first = await cl.unmask(req([v, w, x], []));
    expect(first.selfMaskShares.map((s) => s.of)).toEqual([v, w, x]);
    expect(await cl.unmask(req([x, w, v], []))).toEqual(first); // a retry of the same request
    await expectSecAgg(cl.unmask(req([v, w], [x])), 'secondRequest');
  });

  it('a tampered or misrouted ciphertext is a typed decryption error', async () => {
    const { clients, co, c } = await masked();
    const [u, v] = clients as [number, number];
    const inbox = co.inbox(u);
    const bytes = fromBase64Url('ct', inbox.shares[0]!.ciphertext);
    bytes[20]! ^= 1;
    const tampered = { ...inbox, shares: [{ ...inbox.shares[0]!, ciphertext: toBase64Url(bytes) }] };
    await expectSecAgg(c.get(u)!.receiveShares(tampered), 'decryption');
    // v's ciphertext for u, presented to v as if from u's... the AAD binds sender and receiver.
    const vInbox = co.inbox(v);
    const fromW = vInbox.shares.find((s) => s.from !== u)!;
    const swapped = { ...vInbox, shares: [{ from: u, ciphertext: fromW.ciphertext }] };
    await expectSecAgg(c.get(v)!.receiveShares(swapped), 'decryption');
  });

  it('messages out of order or for another round are refused', async () => {
    const clients = ids(5);
    const co = new SecAggCoordinator({ round: 1, clients, dim: D, clipNorm: CLIP, seed: 6 });
    const cl = new SecAggClient(co.config(clients[0]!));
    await expectSecAgg(cl.mask(new Float32Array(D)), 'stage');
    const adv = await cl.advertise();
    await expectSecAgg(cl.advertise(), 'stage');
    expect(() => co.receiveKeys({ ...adv, round: 2 })).toThrow(SecAggError);
    expect(() => co.roster(clients[0]!)).toThrow(SecAggError);
  });
});

describe('SecAgg+ graph', () => {
  it('Harary H(k, K): k neighbours each, symmetric', () => {
    const clients = ids(101);
    const g = NeighbourGraph.random(clients, 12, new Random(1));
    for (const u of clients) {
      const n = g.neighboursOf(u);
      expect(new Set(n).size).toBe(12);
      for (const v of n) {
        expect(g.adjacent(u, v)).toBe(true);
        expect(g.neighboursOf(v)).toContain(u);
      }
    }
    expect(g.order).not.toEqual(clients); // relabelled
  });

  it('k grows like log K; K = 10000 builds fast', () => {
    const ks = [100, 1000, 10_000, 100_000].map((n) => graphParameters(n).neighbours);
    expect(ks[3]! - ks[0]!).toBeLessThan(20);
    expect(ks.every((k, i) => i === 0 || k >= ks[i - 1]!)).toBe(true);
    const t0 = performance.now();
    const co = new SecAggCoordinator({ round: 0, clients: ids(10_000), dim: 1000, clipNorm: 1, seed: 7 });
    let edges = 0;
    for (const u of co.graph.order) edges += co.graph.neighboursOf(u).length;
    expect(edges).toBe(10_000 * co.neighbours);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(co.threshold).toBeGreaterThan(co.neighbours / 2);
  });
});
