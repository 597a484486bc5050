// Property test (issue 12, section 5): up to ~20% malicious clients send random hostile reports —
// huge, NaN, ±Inf or norm-overflowing updates, absurd sample counts, buffers they overwrite after
// submitting, wrong types, null — and the global model stays finite; under DP-FedAvg it never
// moves by more than the clipping bound allows. Fixed seed (fast-check), so the run is reproducible.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClientReport } from '../../src/fl/client.js';
import { FederatedServer, type ServerOptions } from '../../src/fl/server.js';

const D = 12;
const M = 40;
const K = 10;

type Hostile =
  | { kind: 'values'; value: number; at: number }
  | { kind: 'fill'; value: number }
  | { kind: 'samples'; samples: number }
  | { kind: 'reuse'; after: number }
  | { kind: 'wrongType' }
  | { kind: 'null' };

const huge = fc.constantFrom(1e30, -1e30, 3e38, -3.4e38, 1e20, NaN, Infinity, -Infinity);
const hostile: fc.Arbitrary<Hostile> = fc.oneof(
  fc.record({ kind: fc.constant('values' as const), value: huge, at: fc.nat(D - 1) }),
  fc.record({ kind: fc.constant('fill' as const), value: huge }),
  fc.record({
    kind: fc.constant('samples' as const),
    samples: fc.constantFrom(Number.MAX_SAFE_INTEGER, 1e300, 2 ** 60, -1, 0.5, NaN, Infinity, 1e12),
  }),
  fc.record({ kind: fc.constant('reuse' as const), after: huge }),
  fc.constant({ kind: 'wrongType' as const }),
  fc.constant({ kind: 'null' as const }),
);

// One round: each selected client is honest or, with probability ≤ 0.2, picks a hostile report.
const roundArb = fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), hostile, fc.nat(1000)), {
  minLength: M,
  maxLength: M,
});

const honestUpdate = (seed: number, scale: number) => {
  const u = new Float32Array(D);
  for (let i = 0; i < D; i++) u[i] = scale * Math.sin(seed * 7.13 + i * 1.7);
  return u;
};

/** Plays one round: honest clients report small updates, those below the malice draw a hostile one. */
function playRound(s: FederatedServer, t: number, round: Array<[number, Hostile, number]>, malice: number): void {
  const plan = s.beginRound(0);
  const reused: Array<[Float32Array, number]> = [];
  for (const k of plan.clients) {
    const [p, h, seed] = round[k]!;
    const report: ClientReport = { client: k, round: t, update: honestUpdate(seed + k, 0.05), samples: 20 };
    if (p < malice) {
      if (h.kind === 'null') {
        expect(() => s.submit(null as never)).toThrow(expect.objectContaining({ code: 'ERR_DPFL_INVALID_TYPE' }));
        continue;
      }
      if (h.kind === 'values') report.update[h.at] = h.value;
      if (h.kind === 'fill') report.update.fill(h.value);
      if (h.kind === 'samples') report.samples = h.samples;
      if (h.kind === 'wrongType') report.update = Array.from(report.update) as unknown as Float32Array;
      if (h.kind === 'reuse') reused.push([report.update, h.after]);
    }
    s.submit(report);
  }
  // Buffers overwritten after they were submitted (a transport reusing its receive buffer).
  for (const [u, v] of reused) u.fill(v);
}

const rounds = fc.array(roundArb, { minLength: 1, maxLength: 4 });
const malice = fc.double({ min: 0, max: 0.2, noNaN: true });

describe('hostile clients (property, fixed seed)', () => {
  it('never make the global model non-finite, for every rule and server optimizer', async () => {
    const config = fc.record({
      aggregation: fc.constantFrom('mean' as const, 'median' as const, 'trimmed-mean' as const),
      optimizer: fc.constantFrom('fedavg' as const, 'fedavgm' as const, 'fedadam' as const),
      selection: fc.constantFrom('uniform' as const, 'activity' as const, 'poisson' as const),
      estimator: fc.constantFrom('unbiased' as const, 'self-normalized' as const),
      maxSamples: fc.constantFrom<'activity' | number>('activity', 100, Number.MAX_SAFE_INTEGER),
    });
    await fc.assert(
      fc.asyncProperty(config, rounds, malice, async (c, rs, m) => {
        const s = new FederatedServer({
          params: new Float32Array(D).fill(0.5),
          activity: Array.from({ length: M }, (_, k) => 1 + (k % 7) * 10),
          selection: { method: c.selection, perRound: K },
          aggregation: c.aggregation,
          optimizer: c.optimizer,
          estimator: c.estimator,
          maxSamples: c.maxSamples,
          seed: 1,
        });
        for (let t = 0; t < rs.length; t++) {
          const before = Float32Array.from(s.params);
          playRound(s, t, rs[t]!, m);
          const r = await s.endRound();
          expect(s.params.every(Number.isFinite)).toBe(true);
          // A refused round changes nothing.
          if (!r.applied) expect(Array.from(s.params)).toEqual(Array.from(before));
        }
      }),
      { seed: 20261201, numRuns: 150 },
    );
  });

  it('under DP-FedAvg never move the model by more than (accepted · S + noise) / (q·W)', async () => {
    const config = fc.record({
      selection: fc.constantFrom('uniform' as const, 'poisson' as const),
      adaptive: fc.boolean(),
      weightCap: fc.constantFrom<number | undefined>(undefined, 15),
      clipNorm: fc.constantFrom(0.01, 0.1, 1),
    });
    await fc.assert(
      fc.asyncProperty(config, rounds, malice, async (c, rs, m) => {
        const activity = Array.from({ length: M }, (_, k) => 1 + (k % 7) * 10);
        const options: ServerOptions = {
          params: new Float32Array(D),
          activity,
          selection: { method: c.selection, perRound: K },
          dp: {
            noiseMultiplier: 1e-3,
            clipNorm: c.clipNorm,
            delta: 1e-5,
            noiseSeed: 9n,
            ...(c.adaptive ? { adaptiveClip: { countNoise: 1 } } : {}),
            ...(c.weightCap !== undefined ? { weightCap: c.weightCap } : {}),
          },
          seed: 2,
        };
        const s = new FederatedServer(options);
        const qW = (K / M) * activity.reduce((sum, n) => sum + s.dp!.userWeight(n), 0);
        for (let t = 0; t < rs.length; t++) {
          const before = Float32Array.from(s.params);
          playRound(s, t, rs[t]!, m);
          const r = await s.endRound();
          expect(s.params.every(Number.isFinite)).toBe(true);
          let moved = 0;
          for (let i = 0; i < D; i++) moved += (s.params[i]! - before[i]!) ** 2;
          // Each accepted report contributes w_k·clip(Δ_k) of norm ≤ S; the noise has std z_Δ·S
          // per coordinate (z_Δ ≤ 2z here), so its norm is below 8·2z·S·√D with overwhelming
          // probability.
          const S = r.clipNorm!;
          const bound = (r.accepted! * S + 16e-3 * S * Math.sqrt(D)) / qW;
          expect(Math.sqrt(moved)).toBeLessThanOrEqual(bound * (1 + 1e-5));
        }
      }),
      { seed: 20261202, numRuns: 150 },
    );
  });
});
