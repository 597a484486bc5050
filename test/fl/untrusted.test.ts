// Regression tests of issue 12 (sections 1 and 5): client input is untrusted. Each reproduces a
// finding on the old code (noted) and checks the fix.
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/kernels/aggregate.js';
import { createRoundAggregator } from '../../src/fl/aggregation.js';
import { createServerOptimizer } from '../../src/fl/optimizers.js';
import { SecureAggregation } from '../../src/fl/secagg.js';
import { FederatedServer, type ServerOptions } from '../../src/fl/server.js';

const norm = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));

describe('DP-FedAvg aggregates exactly what it clipped', () => {
  it('a transport that reuses its receive buffer cannot slip an unclipped vector in', async () => {
    // K·S/(qW) = 10·1/((10/100)·100) = 1 bounds the applied Δ (plus noise of std z·S/(qW) = 1e-6).
    const D = 8;
    const s = new FederatedServer({
      params: new Float32Array(D),
      activity: new Array(100).fill(5),
      selection: { method: 'uniform', perRound: 10 },
      dp: { noiseMultiplier: 1e-6, clipNorm: 1, delta: 1e-6, noiseSeed: 1n },
      seed: 3,
    });
    const plan = s.beginRound(0);
    const buffer = new Float32Array(D);
    for (const k of plan.clients) {
      buffer.fill(0.01); // norm 0.028 ≤ S: measured unclipped
      expect(s.submit({ client: k, round: 0, update: buffer, samples: 5 })).toBe('accepted');
    }
    buffer.fill(1000); // the transport's next message lands in the same buffer
    const r = await s.endRound();
    // Old code: the held references were folded at endRound: ‖Δ‖ = 2828.
    expect(r.deltaNorm!).toBeLessThan(1 + 1e-4);
    expect(r.deltaNorm!).toBeCloseTo(0.01 * Math.sqrt(D), 4);
  });
  it('the robust rules copy too', async () => {
    const agg = createRoundAggregator('median', 2);
    const u = new Float32Array([1, 2]);
    agg.add(u, 1);
    u.fill(1e9);
    expect(Array.from((await agg.result(false))!)).toEqual([1, 2]);
  });
});

describe('client selection is unpredictable without a seed', () => {
  const options = (seed?: number): ServerOptions => ({
    params: new Float32Array(1),
    activity: new Array(1000).fill(1),
    selection: { method: 'poisson', perRound: 100 },
    dp: { noiseMultiplier: 1, clipNorm: 1, delta: 1e-6 },
    ...(seed === undefined ? {} : { seed }),
  });
  it('two unseeded servers select different clients (old code: identical every round)', async () => {
    const a = new FederatedServer(options());
    const b = new FederatedServer(options());
    for (let t = 0; t < 3; t++) {
      // P(two independent Poisson(q = 0.1) samples of 1000 coincide) < 0.82^1000.
      expect(a.beginRound(0).clients).not.toEqual(b.beginRound(0).clients);
      const ra = await a.endRound();
      await b.endRound();
      expect(ra.seeded).toBe(false);
    }
  });
  it('every selection method draws from the OS CSPRNG without a seed (SecureRandom has every draw)', async () => {
    const activity = Array.from({ length: 50 }, (_, i) => 1 + (i % 7));
    for (const selection of [
      { method: 'uniform', perRound: 10 },
      { method: 'activity', perRound: 10 },
      { method: 'activity', perRound: 10, replacement: true },
    ] as const) {
      const s = new FederatedServer({ params: new Float32Array(1), activity, selection });
      const plan = s.beginRound(0);
      expect(plan.clients.length, selection.method).toBeGreaterThan(0);
      expect(new Set(plan.clients).size).toBe(plan.clients.length);
      expect((await s.endRound()).seeded).toBe(false);
    }
  });
  it('a seed makes the run reproducible and the round report says so', async () => {
    const a = new FederatedServer(options(7));
    const b = new FederatedServer(options(7));
    expect(a.beginRound(0).clients).toEqual(b.beginRound(0).clients);
    expect((await a.endRound()).seeded).toBe(true);
    // Seeded DP noise alone also marks the run.
    const dp = { noiseMultiplier: 1, clipNorm: 1, delta: 1e-6, noiseSeed: 1n };
    const c = new FederatedServer({ ...options(), dp });
    c.beginRound(0);
    expect((await c.endRound()).seeded).toBe(true);
  });
});

describe('one client cannot poison a round', () => {
  const D = 1000;
  const base = (o: Partial<ServerOptions> = {}): ServerOptions => ({
    params: new Float32Array(D),
    activity: new Array(10).fill(20),
    selection: { method: 'uniform', perRound: 5 },
    seed: 2,
    ...o,
  });
  it('Aggregator.result refuses a sum beyond float32 instead of returning ±Infinity, out untouched', () => {
    const agg = new Aggregator(D).add(new Float32Array(D).fill(1e30), 1e12);
    // Old code: every coordinate +Infinity.
    expect(() => agg.result()).toThrow(expect.objectContaining({ code: 'ERR_DPFL_NON_FINITE' }));
    const out = new Float32Array(D).fill(7);
    expect(() => agg.result({ out })).toThrow(/the aggregate \(coordinate 0\) must be within float32 range/);
    expect(out.every((v) => v === 7)).toBe(true);
    expect(agg.result({ normalize: true })[0]).toBeCloseTo(1e30, -25); // the mean fits
  });
  it('a round whose aggregate overflows is refused whole and the next round works', async () => {
    const s = new FederatedServer(base({ maxSamples: Number.MAX_SAFE_INTEGER }));
    const plan = s.beginRound(0);
    const [evil, ...good] = plan.clients as [number, ...number[]];
    const bomb = new Float32Array(D).fill(1e30);
    expect(s.submit({ client: evil, round: 0, update: bomb, samples: 1e12 })).toBe('accepted');
    for (const k of good) s.submit({ client: k, round: 0, update: new Float32Array(D).fill(0.1), samples: 20 });
    const r = await s.endRound();
    // Old code: applied, and all 1000 parameters +Infinity for good.
    expect(r).toMatchObject({ applied: false, reason: 'nonFinite' });
    expect(s.params.every((v) => v === 0)).toBe(true);
    const next = s.beginRound(0);
    for (const k of next.clients) s.submit({ client: k, round: 1, update: new Float32Array(D).fill(0.1), samples: 20 });
    expect((await s.endRound()).applied).toBe(true);
    expect(s.params.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
  });
  it('a claimed sample count is capped server-side: MAX_SAFE_INTEGER does not set the mean', async () => {
    const s = new FederatedServer(base({ estimator: 'self-normalized' }));
    const plan = s.beginRound(0);
    const [evil, ...good] = plan.clients as [number, ...number[]];
    s.submit({ client: evil, round: 0, update: new Float32Array(D).fill(-1), samples: Number.MAX_SAFE_INTEGER });
    for (const k of good) s.submit({ client: k, round: 0, update: new Float32Array(D).fill(1), samples: 20 });
    const r = await s.endRound();
    expect(r.samplesCapped).toBe(1);
    // Capped at its activity (20), the attacker weighs as much as each honest client: (4 − 1)/5.
    // Old code: −1 + 4·20/2^53 ≈ −1.
    s.params.forEach((v) => expect(v).toBeCloseTo(3 / 5, 5));
    expect(() => new FederatedServer(base({ maxSamples: -1 }))).toThrow(
      /maxSamples must be 'activity' or a non-negative/,
    );
  });
  it('the server optimizer steps all or nothing', () => {
    for (const name of ['fedavg', 'fedavgm', 'fedadam'] as const) {
      // FedAdam's step is about lr, so a huge lr makes it overflow too.
      const opt = createServerOptimizer(name, { lr: name === 'fedadam' ? 1e38 : 1 });
      const params = new Float32Array([3e38, 1]);
      // Old code: params[0] became +Infinity (step returned nothing).
      expect(opt.step(params, new Float32Array([3e38, 1]))).toBe(false);
      expect(Array.from(params)).toEqual([Math.fround(3e38), 1]);
    }
    // After a refused step the state is as before: the same step on a fresh optimizer matches.
    const a = createServerOptimizer('fedavgm');
    const b = createServerOptimizer('fedavgm');
    const pa = new Float32Array([3e38, 0]);
    const pb = new Float32Array([3e38, 0]);
    a.step(pa, new Float32Array([0, 1]));
    b.step(pb, new Float32Array([0, 1]));
    expect(a.step(pa, new Float32Array([3e38, 1]))).toBe(false);
    a.step(pa, new Float32Array([0, 1]));
    b.step(pb, new Float32Array([0, 1]));
    expect(Array.from(pa)).toEqual(Array.from(pb));
  });
  it('reasons are accurate: normOverflow, nonFinite, wrongType; a null report throws a typed error', () => {
    const s = new FederatedServer(base());
    const plan = s.beginRound(0);
    const [a, b, c] = plan.clients as [number, number, number];
    // Finite values whose norm exceeds float32 (old code: 'nonFinite').
    expect(s.submit({ client: a, round: 0, update: new Float32Array(D).fill(3e37), samples: 1 })).toBe('normOverflow');
    const inf = new Float32Array(D);
    inf[3] = -Infinity;
    expect(s.submit({ client: b, round: 0, update: inf, samples: 1 })).toBe('nonFinite');
    expect(s.submit({ client: c, round: 0, update: null as unknown as Float32Array, samples: 1 })).toBe('wrongType');
    // Old code: a raw "Cannot read properties of null" TypeError without a code.
    expect(() => s.submit(null as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_DPFL_INVALID_TYPE',
        message: 'report must be a client report object, received null',
      }),
    );
  });
  it("statistics: 'withheld' leaves the exact counts out of the round report (absent, not zero)", async () => {
    const s = new FederatedServer({
      ...base({ selection: { method: 'poisson', perRound: 5 } }),
      statistics: 'withheld',
      dp: { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5, adaptiveClip: { countNoise: 1 } },
    });
    const plan = s.beginRound(0);
    for (const k of plan.clients) s.submit({ client: k, round: 0, update: new Float32Array(D).fill(0.1), samples: 20 });
    const r = await s.endRound();
    for (const key of ['selected', 'accepted', 'dropped', 'rejected', 'samplesCapped', 'clipped']) {
      expect(r).not.toHaveProperty(key);
    }
    expect(r).toMatchObject({ round: 0, applied: true, clipNorm: 1 });
    expect(r.epsilon).toBeGreaterThan(0);
  });
});

describe('typed errors at the edges', () => {
  it('SecureAggregation validates ids, dim and seed (old code: dim −5 and string ids accepted)', () => {
    const invalidType = expect.objectContaining({ code: 'ERR_DPFL_INVALID_TYPE' });
    expect(() => new SecureAggregation([1, 2], -5, 1)).toThrow(
      expect.objectContaining({
        code: 'ERR_DPFL_INVALID_ARGUMENT',
        message: 'dim must be a positive integer, received -5',
      }),
    );
    expect(() => new SecureAggregation(['1', '2'] as unknown as number[], 4, 1)).toThrow(invalidType);
    expect(() => new SecureAggregation([1, 1.5], 4, 1)).toThrow(/clients\[1\] must be a non-negative safe integer id/);
    expect(() => new SecureAggregation([1, 2], 4, 1, 5 as unknown as string)).toThrow(/seed must be a string/);
    const sa = new SecureAggregation([1, 2], 4, 1, 'x');
    expect(() => sa.mask(1, [1, 2, 3, 4] as unknown as Float32Array)).toThrow(invalidType);
    expect(() => sa.unmask({} as Map<number, Uint32Array>)).toThrow(invalidType);
  });
  it('round aggregators refuse what they cannot copy, with typed errors', () => {
    for (const rule of ['mean', 'median'] as const) {
      const r = createRoundAggregator(rule, 4);
      const wrong = new Float32Array(5);
      expect(() => r.stage(wrong)).toThrow(expect.objectContaining({ code: 'ERR_DPFL_INVALID_ARGUMENT' }));
      const list = [1, 2, 3, 4] as unknown as Float32Array;
      expect(() => r.stage(list)).toThrow(expect.objectContaining({ code: 'ERR_DPFL_INVALID_TYPE' }));
      expect(() => r.commit(1)).toThrow(/stage must be called before commit/);
    }
  });
  it("an Aggregator beyond the kernels' 2^32 − 1 elements is a typed error, not a plain allocation failure", () => {
    expect(() => new Aggregator(2 ** 50)).toThrow(expect.objectContaining({ code: 'ERR_DPFL_INVALID_ARGUMENT' }));
  });
  it('norms of the copies: normOverflow keeps the round usable', async () => {
    const r = createRoundAggregator('mean', 4);
    expect(r.stage(new Float32Array([3e38, 3e38, 0, 0]))).toBe(Infinity);
    expect(r.stage(new Float32Array([1, NaN, 0, 0]))).toBeNaN();
    expect(r.stage(new Float32Array([1, 0, -Infinity, 0]))).toBeNaN();
    expect(() => r.commit(1)).toThrow(/the staged update must be of finite norm to be committed, received NaN/);
    expect(r.stage(new Float32Array([3, 4, 0, 0]))).toBeCloseTo(5, 6);
    r.commit(1);
    expect(r.count).toBe(1);
    expect(norm((await r.result(false))!)).toBeCloseTo(5, 6);
  });
});
