import { describe, expect, it } from 'vitest';
import {
  computeEpsilon,
  poissonSampledGaussian,
  sampledWithoutReplacementGaussian,
} from '../../src/accounting/index.js';
import { addGaussianNoise } from '../../src/kernels/noise.js';
import { FederatedServer, type ServerOptions } from '../../src/fl/server.js';
import { randomFloats } from '../reference/kernels.js';

const D = 50;
const M = 10;
const activity = Array.from({ length: M }, (_, k) => 10 + 5 * k);
const base = (o: Partial<ServerOptions> = {}): ServerOptions => ({
  params: new Float32Array(D),
  activity,
  selection: { method: 'uniform', perRound: 4 },
  seed: 1,
  ...o,
});
const update = (seed: number, scale = 1) => randomFloats(D, seed).map((v) => v * scale);

describe('FederatedServer: bad reports are rejected by rule and counted', () => {
  it('applies each rule and never averages a bad report in', async () => {
    const s = new FederatedServer(base({ deadline: 10 }));
    const plan = s.beginRound(0);
    const [a, b, c, d] = plan.clients as [number, number, number, number];
    const outsider = [...Array(M).keys()].find((k) => !plan.clients.includes(k))!;
    const good = update(1);
    expect(s.submit({ client: a, round: 0, update: good, samples: activity[a]! }, 1)).toBe('accepted');
    expect(s.submit({ client: a, round: 0, update: good, samples: activity[a]! }, 1)).toBe('duplicate');
    expect(s.submit({ client: outsider, round: 0, update: good, samples: 5 }, 1)).toBe('unselected');
    expect(s.submit({ client: b, round: 0, update: new Float32Array(D - 1), samples: 5 }, 1)).toBe('wrongLength');
    expect(s.submit({ client: b, round: 0, update: good, samples: 5 }, 1)).toBe('duplicate'); // one report per round
    expect(s.submit({ client: c, round: 0, update: good, samples: -1 }, 1)).toBe('badWeight');
    const nan = update(2);
    nan[7] = NaN;
    expect(s.submit({ client: d, round: 0, update: nan, samples: 5 }, 1)).toBe('nonFinite');
    expect(s.submit({ client: d, round: -1, update: good, samples: 5 }, 1)).toBe('late');
    const r = await s.endRound();
    expect(r.accepted).toBe(1);
    expect(r.rejected).toEqual({
      late: 1,
      unselected: 1,
      duplicate: 2,
      wrongType: 0,
      wrongLength: 1,
      badWeight: 1,
      nonFinite: 1,
      normOverflow: 0,
    });
    expect(r.dropped).toBe(0);
    expect(r.applied).toBe(true);
    // The one accepted update, with its Horvitz–Thompson coefficient n_a / (N · K/M).
    const N = activity.reduce((x, y) => x + y, 0);
    const coef = activity[a]! / (N * (4 / M));
    s.params.forEach((v, i) => expect(v).toBeCloseTo(coef * good[i]!, 5));
    expect(Number.isFinite(s.params.reduce((x, y) => x + y, 0))).toBe(true);
  });
  it('rejects reports after the deadline and counts silent clients as dropped', async () => {
    const s = new FederatedServer(base({ deadline: 5 }));
    const plan = s.beginRound(100);
    expect(s.submit({ client: plan.clients[0]!, round: 0, update: update(3), samples: 10 }, 106)).toBe('late');
    const r = await s.endRound();
    expect(r).toMatchObject({ accepted: 0, dropped: 3, applied: false }); // the straggler reported, late
    expect(r.rejected!.late).toBe(1);
  });
  it('skips a round with fewer reports than minReports, leaving the model unchanged', async () => {
    const s = new FederatedServer(base({ minReports: 3 }));
    const plan = s.beginRound(0);
    for (const k of plan.clients.slice(0, 2)) s.submit({ client: k, round: 0, update: update(k), samples: 10 });
    const r = await s.endRound();
    expect(r.applied).toBe(false);
    expect(s.params.every((v) => v === 0)).toBe(true);
    expect(() => s.submit({ client: 0, round: 1, update: update(1), samples: 1 })).toThrow(/round must be open/);
  });
  it('self-normalized estimator gives the weighted mean of the reports', async () => {
    const s = new FederatedServer(base({ estimator: 'self-normalized' }));
    const plan = s.beginRound(0);
    const ups = plan.clients.map((k) => update(10 + k));
    plan.clients.forEach((k, j) => s.submit({ client: k, round: 0, update: ups[j]!, samples: activity[k]! }));
    await s.endRound();
    const w = plan.clients.map((k) => activity[k]!);
    const W = w.reduce((x, y) => x + y, 0);
    s.params.forEach((v, i) =>
      expect(v).toBeCloseTo(
        ups.reduce((acc, u, j) => acc + (w[j]! / W) * u[i]!, 0),
        5,
      ),
    );
  });
  it('norm bounding scales a large update to the bound without touching the caller’s array', async () => {
    const s = new FederatedServer(base({ normBound: 0.1, estimator: 'self-normalized' }));
    const plan = s.beginRound(0);
    const big = update(5, 10);
    const copy = Float32Array.from(big);
    s.submit({ client: plan.clients[0]!, round: 0, update: big, samples: 10 });
    await s.endRound();
    expect(Math.hypot(...s.params)).toBeCloseTo(0.1, 5);
    expect(Array.from(big)).toEqual(Array.from(copy));
  });
  it('the median rule ignores a Byzantine report that would wreck the mean', async () => {
    const s = new FederatedServer(base({ aggregation: 'median', selection: { method: 'uniform', perRound: 5 } }));
    const plan = s.beginRound(0);
    plan.clients.forEach((k, j) =>
      s.submit({ client: k, round: 0, update: j === 0 ? new Float32Array(D).fill(1e6) : update(k, 0.01), samples: 10 }),
    );
    const r = await s.endRound();
    expect(r.applied).toBe(true);
    expect(Math.max(...s.params.map(Math.abs))).toBeLessThan(0.1);
  });
});

describe('DP-FedAvg', () => {
  it('clips, adds z·S noise once, divides by the fixed denominator q·W, and accounts per round', async () => {
    const z = 1.2;
    const S = 0.5;
    const s = new FederatedServer(base({ dp: { noiseMultiplier: z, clipNorm: S, delta: 1e-5, noiseSeed: 77n } }));
    const plan = s.beginRound(0);
    const ups = plan.clients.map((k) => update(20 + k, 0.3));
    plan.clients.forEach((k, j) => s.submit({ client: k, round: 0, update: ups[j]!, samples: activity[k]! }));
    const r = await s.endRound();
    // Reference: clip each update to S, sum, add the same seeded noise, divide by q·W (W = M, w_k = 1).
    const sum = new Float32Array(D);
    for (const u of ups) {
      const n = Math.hypot(...u);
      const c = Math.min(1, S / n);
      u.forEach((v, i) => (sum[i] = sum[i]! + c * v));
    }
    addGaussianNoise(sum, z * S, { seed: 77n, stream: 0n });
    const qW = (4 / M) * M;
    s.params.forEach((v, i) => expect(v).toBeCloseTo(sum[i]! / qW, 4));
    expect(r.clipNorm).toBe(S);
    const expected = computeEpsilon(
      [
        {
          event: sampledWithoutReplacementGaussian({ noiseMultiplier: z / 2, sampleSize: 4, datasetSize: M }),
          count: 1,
        },
      ],
      1e-5,
    ).epsilon;
    expect(r.epsilon).toBeCloseTo(expected, 10);
  });
  it('poisson selection is accounted as the Poisson-subsampled Gaussian with q = K/M', async () => {
    const s = new FederatedServer(
      base({
        selection: { method: 'poisson', perRound: 4 },
        dp: { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5, noiseSeed: 1n },
      }),
    );
    for (let t = 0; t < 3; t++) {
      const plan = s.beginRound(0);
      plan.clients.forEach((k) => s.submit({ client: k, round: t, update: update(k), samples: 10 }));
      await s.endRound();
    }
    const e = computeEpsilon(
      [{ event: poissonSampledGaussian({ noiseMultiplier: 1, sampleRate: 0.4 }), count: 3 }],
      1e-5,
    ).epsilon;
    expect(s.dp!.accountant.epsilon(1e-5)).toBeCloseTo(e, 10);
  });
  it('adaptive clipping moves S towards the target quantile and raises the sum noise per Andrew et al.', async () => {
    const s = new FederatedServer(
      base({
        selection: { method: 'uniform', perRound: 10 },
        dp: { noiseMultiplier: 0.8, clipNorm: 10, adaptiveClip: true, delta: 1e-5, noiseSeed: 3n },
      }),
    );
    // σ_b = K/20 = 0.5; z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2) = (1.5625 − 1)^(−1/2) = 4/3.
    expect(s.dp!.sumNoiseMultiplier).toBeCloseTo(4 / 3, 10);
    const norms: number[] = [];
    for (let t = 0; t < 30; t++) {
      const plan = s.beginRound(0);
      plan.clients.forEach((k) => s.submit({ client: k, round: t, update: update(100 * t + k, 0.1), samples: 10 }));
      const r = await s.endRound();
      norms.push(r.clipNorm!);
    }
    // Update norms are ≈ 0.1·√50 ≈ 0.7: S falls from 10 towards them.
    expect(norms[29]!).toBeLessThan(2);
    expect(norms[29]!).toBeGreaterThan(0.3);
  });
  it('a DP round with no reports still releases noise and is accounted (no data-dependent skip)', async () => {
    const s = new FederatedServer(base({ dp: { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5, noiseSeed: 5n } }));
    s.beginRound(0);
    const r = await s.endRound();
    expect(r).toMatchObject({ accepted: 0, dropped: 4, applied: true });
    expect(r.epsilon).toBeGreaterThan(0);
    const noise = addGaussianNoise(new Float32Array(D), 1, { seed: 5n, stream: 0n });
    s.params.forEach((v, i) => expect(v).toBeCloseTo(noise[i]! / 4, 5));
    expect(
      () => new FederatedServer(base({ minReports: 2, dp: { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5 } })),
    ).toThrow(/minReports must be 1 with DP/);
  });
  it('refuses DP with activity selection, user weights on a robust rule, a norm bound or too little count noise', () => {
    expect(
      () =>
        new FederatedServer(
          base({
            selection: { method: 'activity', perRound: 4 },
            dp: { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5 },
          }),
        ),
    ).toThrow(/'uniform' or 'poisson' with DP/);
    const capped = { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5, weightCap: 20 };
    expect(() => new FederatedServer(base({ aggregation: 'median', dp: capped }))).toThrow(
      /weightCap must be unset with the unweighted rule 'median'/,
    );
    expect(
      () => new FederatedServer(base({ normBound: 1, dp: { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5 } })),
    ).toThrow(/normBound must be unset with DP/);
    expect(
      () => new FederatedServer(base({ dp: { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5, adaptiveClip: true } })),
    ).toThrow(/countNoise must be greater than noiseMultiplier \/ 2/);
  });
});
