// Accounting test (issue 12): the event DP-FedAvg charges per round is compared with the mechanism
// the server actually runs, measured from its outputs — the sampling (rate, fixed or random cohort
// size) and the noise on the sum and on the clipped count divided by their sensitivities, combined
// as one Gaussian mechanism (Andrew et al. 2021, Theorem 1: 1/z² = Σ (Δ_i/σ_i)²). Fixed seeds.
import { describe, expect, it } from 'vitest';
import { FederatedServer } from '../../src/fl/server.js';

const M = 200;
const K = 20;
const D = 3000;
const R = 200;

function std(xs: number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
}

async function measure(sampling: 'poisson' | 'uniform', adaptive: boolean) {
  const eta = 0.2;
  const s = new FederatedServer({
    params: new Float32Array(D),
    activity: new Array(M).fill(10),
    selection: { method: sampling, perRound: K },
    dp: {
      noiseMultiplier: 1,
      clipNorm: 1,
      delta: 1e-5,
      noiseSeed: 11n,
      ...(adaptive ? { adaptiveClip: { learningRate: eta } } : {}),
    },
    seed: 5,
  });
  const qW = (K / M) * M; // W = M: every user weighs 1 without a cap
  const sumNoise: number[] = [];
  const countNoise: number[] = [];
  const sizes: number[] = [];
  const inclusions = new Array(M).fill(0);
  const zero = new Float32Array(D); // norm 0 ≤ S: every report counts as unclipped
  for (let t = 0; t < R; t++) {
    s.params.fill(0); // fedavg with η = 1: the new parameters are the released Δ itself
    const plan = s.beginRound(0);
    sizes.push(plan.clients.length);
    for (const k of plan.clients) {
      inclusions[k] += 1;
      s.submit({ client: k, round: t, update: zero, samples: 10 });
    }
    const r = await s.endRound();
    const S = r.clipNorm!;
    for (let i = 0; i < D; i++) sumNoise.push((s.params[i]! * qW) / S);
    if (adaptive) {
      // S' = S·exp(−η(b̃ − γ)), b̃ = (Σ(b_k − ½) + N(0, σ_b²))/K + ½ with every b_k = 1.
      const bTilde = 0.5 - Math.log(s.dp!.clipNorm / S) / eta;
      countNoise.push((bTilde - 0.5) * K - r.accepted! / 2);
    }
  }
  const sigmaCount = adaptive ? std(countNoise) : Infinity;
  return { event: s.dp!.event, sigmaSum: std(sumNoise), sigmaCount, sizes, inclusions };
}

describe('DP-FedAvg: the accounted event is the mechanism that runs', () => {
  for (const adaptive of [false, true]) {
    const clip = adaptive ? ', adaptive clipping' : '';
    it(`poisson selection${clip}: Poisson sampling at q = K/M, multiplier of (sum, count)`, async () => {
      const m = await measure('poisson', adaptive);
      const q = K / M;
      expect(m.event).toMatchObject({ kind: 'poisson-sampled-gaussian', sampleRate: q });
      // Each client independently with probability q: mean rate q, cohort variance Mq(1 − q).
      const rate = m.inclusions.reduce((a, b) => a + b, 0) / (M * R);
      expect(Math.abs(rate - q)).toBeLessThan(4 * Math.sqrt((q * (1 - q)) / (M * R)));
      const variance = std(m.sizes) ** 2;
      expect(variance / (M * q * (1 - q))).toBeGreaterThan(0.75);
      expect(variance / (M * q * (1 - q))).toBeLessThan(1.3);
      // Add/remove one user: sensitivity S on the sum (measured in units of S) and ½ on Σ(b_k − ½).
      const zEff = 1 / Math.sqrt(1 / m.sigmaSum ** 2 + (0.5 / m.sigmaCount) ** 2);
      expect(zEff / (m.event as { noiseMultiplier: number }).noiseMultiplier).toBeCloseTo(1, 1);
      expect(Math.abs(zEff - 1)).toBeLessThan(0.04);
    });
    it(`uniform selection${clip}: exactly K of M, replace-one sensitivities 2S and 1`, async () => {
      const m = await measure('uniform', adaptive);
      expect(m.event).toMatchObject({ kind: 'sampled-without-replacement-gaussian', sampleSize: K, datasetSize: M });
      expect(m.sizes.every((n) => n === K)).toBe(true);
      const zEff = 1 / Math.sqrt((2 / m.sigmaSum) ** 2 + (1 / m.sigmaCount) ** 2);
      expect(Math.abs(zEff / (m.event as { noiseMultiplier: number }).noiseMultiplier - 1)).toBeLessThan(0.04);
    });
  }
});
