// DP-FedAvg wraps any aggregation rule (fl/dp-aggregator.ts, fl/dp.ts): the rule sees updates
// clipped to S, a robust rule's output is projected onto the S-ball and noised at 2S, the mean's
// sum is noised at S and divided by q·W, and each round is charged the event its neighbouring needs.
import { describe, expect, it } from 'vitest';
import {
  Accountant,
  poissonSampledGaussian,
  sampledWithoutReplacementGaussian,
  type DpEvent,
} from '../../src/accounting/index.js';
import { coordinateMedian } from '../../src/kernels/fl.js';
import { addGaussianNoise } from '../../src/kernels/noise.js';
import { sumNoiseMultiplier } from '../../src/dpsgd/adaptive-clipping.js';
import { createRoundAggregator, type AggregationRule } from '../../src/fl/aggregation.js';
import { DpFedAvg, type DpFedAvgOptions } from '../../src/fl/dp.js';
import { DpRoundAggregator } from '../../src/fl/dp-aggregator.js';
import { FederatedServer } from '../../src/fl/server.js';
import { randomFloats } from '../reference/kernels.js';

const M = 20;
const K = 5;
const population = Array.from({ length: M }, (_, k) => 10 + k);

function round(rule: AggregationRule, o: Partial<DpFedAvgOptions> = {}, sampling: 'uniform' | 'poisson' = 'uniform') {
  const dp = new DpFedAvg(
    population,
    K,
    sampling,
    { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5, noiseSeed: 9n, ...o },
    rule,
  );
  return {
    dp,
    agg: (dim: number) => new DpRoundAggregator(createRoundAggregator(rule, dim, { normBound: dp.clipNorm }), dp, dim),
  };
}

const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
const epsilonOf = (event: DpEvent, steps = 10) => {
  const a = new Accountant({ accountant: 'rdp' });
  for (let i = 0; i < steps; i++) a.step(event);
  return a.epsilon(1e-5);
};

describe('DpRoundAggregator: the mean', () => {
  it('releases (Σ w_k clip_S(u_k) + N(0, (zS)²)) / (q·W), counting the unclipped reports', async () => {
    const { dp, agg } = round('mean', { weightCap: 20, clipNorm: 0.5 });
    const D = 64;
    const a = agg(D);
    const updates = [0.01, 0.05, 2, 5].map((scale, i) => randomFloats(D, i + 1).map((v) => v * scale));
    const samples = [5, 30, 12, 40];
    updates.forEach((u, i) => a.add(u, dp.userWeight(samples[i]!)));
    const out = await a.release();
    const expected = new Float64Array(D);
    updates.forEach((u, i) => {
      const c = dp.userWeight(samples[i]!) * Math.min(1, 0.5 / norm(u));
      u.forEach((v, j) => (expected[j]! += c * v));
    });
    const noise = addGaussianNoise(new Float32Array(D), 0.5, { seed: 9n, stream: 0n });
    const qW = (K / M) * population.reduce((s, n) => s + Math.min(n / 20, 1), 0);
    out.delta.forEach((v, j) => expect(v).toBeCloseTo((expected[j]! + noise[j]!) / qW, 5));
    expect(out.clipped).toBe(updates.filter((u) => norm(u) > 0.5).length);
    expect(out.clipped).toBeGreaterThan(0);
    expect(out.clipped).toBeLessThan(4);
    expect(out.finite).toBe(true);
    await expect(a.release()).rejects.toThrow(/release must be called once per round/);
  });
});

describe('DpRoundAggregator: robust rules', () => {
  it('projects the median of clipped updates onto the S-ball, then adds N(0, (z·2S)²)', async () => {
    // Three updates of norm 1 whose coordinate median (a, a, a) has norm √1.5 > S = 1.
    const a = Math.SQRT1_2;
    const updates = [Float32Array.of(a, a, 0), Float32Array.of(a, 0, a), Float32Array.of(0, a, a)].map(
      (u) => u.map((v) => v * 40), // clipped back to norm 1 by the rule's norm bound
    );
    const { agg } = round('median', { noiseMultiplier: 0.5 });
    const r = agg(3);
    updates.forEach((u) => r.add(u, 1));
    const out = await r.release();
    const median = coordinateMedian(updates.map((u) => u.map((v) => v / 40)));
    expect(norm(median)).toBeGreaterThan(1.2);
    const noise = addGaussianNoise(new Float32Array(3), 0.5 * 2 * 1, { seed: 9n, stream: 0n });
    out.delta.forEach((v, j) => expect(v).toBeCloseTo(median[j]! / norm(median) + noise[j]!, 5));
    expect(out.clipped).toBe(3);
  });

  it('noises at std z·2S (robust) against z·S/(q·W) (mean), measured on a round with no reports', async () => {
    const D = 200_000;
    const std = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    for (const [rule, expected] of [
      ['trimmed-mean', 1.5 * 2 * 0.8],
      ['krum', 1.5 * 2 * 0.8],
      ['mean', (1.5 * 0.8) / K],
    ] as const) {
      const { agg } = round(rule, { noiseMultiplier: 1.5, clipNorm: 0.8 });
      const out = await agg(D).release();
      // The sample std of 2e5 normals is within 0.5% of σ with overwhelming probability (sd ≈ σ/√(2D) = 0.16%).
      expect(Math.abs(std(out.delta) / expected - 1)).toBeLessThan(0.005);
    }
  });

  it('keeps a round to Krum with fewer than 3 reports private: zeros + noise, accounted', async () => {
    const { dp, agg } = round('krum');
    const r = agg(8);
    r.add(randomFloats(8, 3), 1);
    const out = await r.release();
    const noise = addGaussianNoise(new Float32Array(8), 2, { seed: 9n, stream: 0n });
    out.delta.forEach((v, j) => expect(v).toBeCloseTo(noise[j]!, 6));
    expect(dp.accountant.epsilon(1e-5)).toBeGreaterThan(0);
  });

  it('charges poisson rounds z, uniform rounds z (robust) or z/2 (mean), and with adaptive clipping the replace-one pair', () => {
    const q = K / M;
    const poisson = (rule: AggregationRule) => round(rule, { noiseMultiplier: 1.2 }, 'poisson').dp.event;
    expect(poisson('median')).toEqual(poissonSampledGaussian({ noiseMultiplier: 1.2, sampleRate: q }));
    expect(poisson('mean')).toEqual(poisson('bulyan'));
    const swor = (z: number) =>
      sampledWithoutReplacementGaussian({ noiseMultiplier: z, sampleSize: K, datasetSize: M });
    expect(round('multi-krum', { noiseMultiplier: 1.2 }).dp.event).toEqual(swor(1.2));
    expect(round('mean', { noiseMultiplier: 1.2 }).dp.event).toEqual(swor(0.6));
    // Adaptive clipping, uniform, robust: the output (ratio z_Δ at 2S) and the count (σ_b at sensitivity 1).
    const sigmaB = 2;
    const zSum = sumNoiseMultiplier(1.2, sigmaB, 'adaptiveClip', '');
    const robust = round('median', { noiseMultiplier: 1.2, adaptiveClip: { countNoise: sigmaB } }).dp;
    expect(robust.sumNoiseMultiplier).toBe(zSum);
    const pair = (zSum ** -2 + sigmaB ** -2) ** -0.5;
    const event = robust.event as { noiseMultiplier: number };
    expect(event.noiseMultiplier).toBeCloseTo(pair, 12);
    expect(robust.event).toEqual(swor(event.noiseMultiplier));
    // Between the mean's z/2 and the non-adaptive z: never cheaper than what the pair costs.
    expect(pair).toBeGreaterThan(0.6);
    expect(pair).toBeLessThan(1.2);
    expect(epsilonOf(swor(pair))).toBeGreaterThan(epsilonOf(swor(1.2)));
  });
});

describe('FederatedServer with DP around a robust rule', () => {
  it('bounds two Byzantine clients: the model moves by at most S plus the noise', async () => {
    const D = 32;
    const s = new FederatedServer({
      params: new Float32Array(D),
      activity: population,
      selection: { method: 'uniform', perRound: 10 },
      aggregation: 'trimmed-mean',
      trim: 2,
      seed: 4,
      dp: { noiseMultiplier: 0.01, clipNorm: 0.3, delta: 1e-5, noiseSeed: 3n },
    });
    const plan = s.beginRound(0);
    plan.clients.forEach((k, i) => {
      const u = i < 2 ? new Float32Array(D).fill(1e30) : new Float32Array(D).fill(0.01);
      expect(s.submit({ round: 0, client: k, update: u, samples: population[k]! }, 0)).toBe('accepted');
    });
    const r = await s.endRound();
    expect(r).toMatchObject({ applied: true, accepted: 10, clipped: 2 });
    // The trimmed mean of the clipped updates drops both attackers: every coordinate ≈ 0.01.
    s.params.forEach((v) => expect(v).toBeCloseTo(0.01, 1));
    expect(norm(s.params)).toBeLessThan(0.3 + 0.01 * 2 * 0.3 * 10);
  });

  it('is bit-for-bit reproducible from its seeds', async () => {
    const run = async () => {
      const s = new FederatedServer({
        params: new Float32Array(16),
        activity: population,
        selection: { method: 'poisson', perRound: 6 },
        aggregation: 'bulyan',
        byzantine: 1,
        seed: 8,
        dp: { noiseMultiplier: 1, clipNorm: 0.5, delta: 1e-5, noiseSeed: 2n, adaptiveClip: { countNoise: 1 } },
      });
      const clips: number[] = [];
      for (let t = 0; t < 3; t++) {
        const plan = s.beginRound(t);
        plan.clients.forEach((k) =>
          s.submit({ round: t, client: k, update: randomFloats(16, 10 * t + k), samples: 1 }, t),
        );
        clips.push((await s.endRound()).clipNorm!);
      }
      return { params: Array.from(s.params), clips };
    };
    expect(await run()).toEqual(await run());
  });
});

describe('DP-FedAvg calibrated to a target ε (accounting calibrate, the budget guard in the accountant)', () => {
  const dpOptions = { clipNorm: 1, delta: 1e-5, noiseSeed: 1n, targetEpsilon: 2, rounds: 5 };

  it('picks the smallest z whose planned rounds spend at most the target, for every rule and selection', () => {
    for (const [rule, sampling] of [
      ['mean', 'uniform'],
      ['median', 'uniform'],
      ['mean', 'poisson'],
      ['krum', 'poisson'],
    ] as const) {
      const dp = new DpFedAvg(population, K, sampling, dpOptions, rule);
      expect(epsilonOf(dp.event, 5)).toBeLessThanOrEqual(2);
      // 0.2% less noise would overspend: z is the smallest to calibrate's tolerance (1e-3).
      const smaller = new DpFedAvg(
        population,
        K,
        sampling,
        { ...dpOptions, targetEpsilon: undefined, rounds: undefined, noiseMultiplier: dp.noiseMultiplier * 0.998 },
        rule,
      );
      expect(epsilonOf(smaller.event, 5)).toBeGreaterThan(2);
    }
  });

  it('refuses the round past the budget before any client trains, charging nothing', async () => {
    const s = new FederatedServer({
      params: new Float32Array(8),
      activity: population,
      selection: { method: 'uniform', perRound: K },
      seed: 3,
      dp: dpOptions,
    });
    for (let t = 0; t < 5; t++) {
      const plan = s.beginRound(t);
      plan.clients.forEach((k) =>
        s.submit({ round: t, client: k, update: randomFloats(8, t * 50 + k), samples: 1 }, t),
      );
      await s.endRound();
    }
    const spent = s.dp!.accountant.epsilon(1e-5);
    expect(spent).toBeLessThanOrEqual(2);
    const params = Float32Array.from(s.params);
    expect(() => s.beginRound(5)).toThrow(/privacy budget exceeded/);
    expect(s.dp!.accountant.releases).toBe(5);
    expect(s.dp!.accountant.epsilon(1e-5)).toBe(spent);
    expect(Array.from(s.params)).toEqual(Array.from(params));
    // DpFedAvg.finish charges before it noises: a refused finish leaves its input untouched.
    const zeros = new Float32Array(8);
    expect(() => s.dp!.finish(zeros, 0, 0)).toThrow(/privacy budget exceeded/);
    expect(zeros.every((v) => v === 0)).toBe(true);
  });

  it('refuses ambiguous or incomplete plans with typed errors', () => {
    const base = { clipNorm: 1, delta: 1e-5 };
    expect(
      () => new DpFedAvg(population, K, 'uniform', { ...base, noiseMultiplier: 1, targetEpsilon: 2, rounds: 5 }),
    ).toThrow(/noiseMultiplier must be absent when targetEpsilon is given/);
    expect(() => new DpFedAvg(population, K, 'uniform', { ...base, targetEpsilon: 2 })).toThrow(/rounds must be/);
    expect(() => new DpFedAvg(population, K, 'uniform', { ...base, noiseMultiplier: 1, rounds: 5 })).toThrow(
      /rounds must be given only with targetEpsilon/,
    );
    expect(() => new DpFedAvg(population, K, 'uniform', base)).toThrow(/noiseMultiplier/);
  });
});
