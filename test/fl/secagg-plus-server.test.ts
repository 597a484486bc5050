// FederatedServer.submitSecureSum: a SecAgg+ round updates the model as a plain round on the same
// clipped updates does (to quantisation error), without and with DP-FedAvg (seeded noise).
import { describe, expect, it } from 'vitest';
import { FederatedServer, type ServerOptions } from '../../src/fl/server.js';
import { SecAggCoordinator } from '../../src/fl/net/secagg-coordinator.js';
import { runLocalRound } from '../../src/fl/net/secagg-local.js';
import { clipToNorm } from '../../src/fl/client/secagg/encoding.js';
import { randomFloats } from '../reference/kernels.js';

const D = 32;
const M = 40;
const K = 12;
const CLIP = 0.5;

async function round(options: Omit<ServerOptions, 'params' | 'activity'>, secure: boolean, serverClips = false) {
  const s = new FederatedServer({ params: new Float32Array(D), activity: new Array(M).fill(10), seed: 11, ...options });
  const plan = s.beginRound(0);
  // Norms from ≈ 0.2 to ≈ 1.2: some above CLIP, clipped by their clients in both rounds.
  const updates = new Map(plan.clients.map((k) => [k, randomFloats(D, k + 3, 0.05 + (k % 4) * 0.07)]));
  const dropped = plan.clients.slice(0, 2);
  if (secure) {
    const co = new SecAggCoordinator({ round: 0, clients: plan.clients, dim: D, clipNorm: CLIP, seed: 5 });
    const { result } = await runLocalRound(co, { updates, dropBeforeMask: new Set(dropped) });
    s.submitSecureSum({ clients: result.survivors, sum: result.sum, clipNorm: CLIP });
  } else {
    for (const k of plan.clients)
      if (!dropped.includes(k))
        expect(
          s.submit(
            {
              client: k,
              round: 0,
              update: serverClips ? updates.get(k)! : clipToNorm(updates.get(k)!, CLIP),
              samples: 10,
            },
            0,
          ),
        ).toBe('accepted');
  }
  const report = await s.endRound();
  return { params: s.params, report };
}

describe('FederatedServer.submitSecureSum', () => {
  it('mean, uniform weighting: the same model as plain reports of the clipped updates', async () => {
    const opts = {
      selection: { method: 'uniform' as const, perRound: K, weighting: 'uniform' as const },
      normBound: 1,
    };
    const plain = await round(opts, false);
    const secure = await round(opts, true);
    expect(secure.report.accepted).toBe(K - 2);
    expect(secure.report.dropped).toBe(2);
    expect(secure.report.applied).toBe(true);
    expect(secure.report).toMatchObject({ accepted: plain.report.accepted, dropped: plain.report.dropped });
    // Quantisation: ≤ ½ unit per update and coordinate, times the largest coefficient (≤ 1).
    const tol = (K - 2) / fixedScaleFor(K) + 1e-6;
    for (let i = 0; i < D; i++) expect(Math.abs(secure.params[i]! - plain.params[i]!)).toBeLessThanOrEqual(tol);
    expect(plain.params.some((v) => v !== 0)).toBe(true);
  });

  it('DP-FedAvg: the same noised model (seeded noise) as plain reports', async () => {
    const opts = {
      selection: { method: 'uniform' as const, perRound: K },
      dp: { noiseMultiplier: 0.5, clipNorm: CLIP, delta: 1e-5, noiseSeed: 9n },
    };
    // The plain round sends raw updates: DP-FedAvg clips them to S itself.
    const plain = await round(opts, false, true);
    const secure = await round(opts, true);
    expect(secure.report.accepted).toBe(K - 2);
    expect(secure.report.epsilon).toBe(plain.report.epsilon);
    expect(secure.report.clipped).toBeUndefined(); // unknown: no unclipped count was given
    expect(plain.report.clipped).toBeGreaterThan(0);
    const tol = (K - 2) / fixedScaleFor(K) + 1e-6;
    for (let i = 0; i < D; i++) expect(Math.abs(secure.params[i]! - plain.params[i]!)).toBeLessThanOrEqual(tol);
  });

  it('refuses what it cannot aggregate from a sum', async () => {
    const robust = new FederatedServer({
      params: new Float32Array(D),
      activity: new Array(M).fill(10),
      selection: { method: 'uniform', perRound: K, weighting: 'uniform' },
      aggregation: 'median',
      seed: 1,
    });
    let plan = robust.beginRound(0);
    expect(() => robust.submitSecureSum({ clients: plan.clients, sum: new Float32Array(D), clipNorm: CLIP })).toThrow(
      /aggregation/,
    );
    const bySamples = new FederatedServer({
      params: new Float32Array(D),
      activity: new Array(M).fill(10),
      selection: { method: 'uniform', perRound: K },
      seed: 1,
    });
    plan = bySamples.beginRound(0);
    expect(() =>
      bySamples.submitSecureSum({ clients: plan.clients, sum: new Float32Array(D), clipNorm: CLIP }),
    ).toThrow(/weighting/);
    const ok = new FederatedServer({
      params: new Float32Array(D),
      activity: new Array(M).fill(10),
      selection: { method: 'uniform', perRound: K, weighting: 'uniform' },
      normBound: 0.1,
      seed: 1,
    });
    plan = ok.beginRound(0);
    expect(() => ok.submitSecureSum({ clients: plan.clients, sum: new Float32Array(D), clipNorm: CLIP })).toThrow(
      /normBound/,
    );
    expect(() => ok.submitSecureSum({ clients: [M + 5], sum: new Float32Array(D), clipNorm: 0.1 })).toThrow(/selected/);
    ok.submitSecureSum({ clients: plan.clients.slice(0, 3), sum: new Float32Array(D), clipNorm: 0.1 });
    expect(() =>
      ok.submitSecureSum({ clients: plan.clients.slice(2, 4), sum: new Float32Array(D), clipNorm: 0.1 }),
    ).toThrow(/not reported/);
  });
});

function fixedScaleFor(n: number): number {
  return new SecAggCoordinator({
    round: 0,
    clients: Array.from({ length: n }, (_, i) => i),
    dim: 1,
    clipNorm: CLIP,
    neighbours: 2,
    threshold: 2,
  }).scale;
}
