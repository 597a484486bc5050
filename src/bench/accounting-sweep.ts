// The accountant sweep (issue 12, §2): every query of a grid over (q, σ, T, δ) is checked for the
// promises of computeEpsilon — never NaN, never below a proven lower bound, Infinity only flagged,
// monotone in T, q and 1/σ, ε > 0 whenever the mechanism provably leaks at δ — and timed. The test
// suite runs the coarse grid; `npm run bench` (accounting section) runs the full one and records the
// worst time, the peak memory and the worst gap of the PLD grid to the exact value at q = 1.

import { performance } from 'node:perf_hooks';
import { gaussianEpsilonBracket } from '../accounting/analytic-gaussian.js';
import { calibrateNoiseMultiplier } from '../accounting/calibrate.js';
import { poissonSampledGaussian } from '../accounting/events.js';
import { pldEpsilon } from '../accounting/pld-accountant.js';
import { computeEpsilon, type EpsilonReport } from '../accounting/privacy-accountant.js';
import { normalCdf } from '../accounting/special.js';

export interface SweepGrid {
  sampleRates: readonly number[];
  noiseMultipliers: readonly number[];
  steps: readonly number[];
  deltas: readonly number[];
  /** Points (indices into the grid's query list, every k-th) whose calibrate∘epsilon round trip is checked. */
  calibrateEvery: number;
}

/** CI: 2 × 2 × 2 × 2 points (plus the neighbours the monotonicity checks need). */
export const COARSE_SWEEP: SweepGrid = {
  sampleRates: [1e-3, 1],
  noiseMultipliers: [0.5, 4],
  steps: [10, 10_000],
  deltas: [1e-12, 1e-5],
  calibrateEvery: 8,
};

/** The range: q ∈ [1e-5, 1], σ ∈ [0.3, 20], T ∈ [1, 1e6], δ ∈ [1e-12, 1e-3]. */
export const FULL_SWEEP: SweepGrid = {
  sampleRates: [1e-5, 1e-3, 1e-2, 0.1, 0.5, 1],
  noiseMultipliers: [0.3, 0.8, 2, 20],
  steps: [1, 100, 10_000, 1_000_000],
  deltas: [1e-12, 1e-5, 1e-3],
  calibrateEvery: 12,
};

export interface SweepQuery {
  q: number;
  sigma: number;
  steps: number;
  delta: number;
  pld: EpsilonReport;
  rdp: number;
  ms: number;
}

export interface SweepSummary {
  queries: number;
  /** Slowest single `computeEpsilon` (PLD) query, and where. */
  worstMs: number;
  worstQuery: string;
  /** Slowest calibration. */
  worstCalibrateMs: number;
  /** Peak resident memory of the process during the sweep (MB). */
  maxRssMb: number;
  /** Largest (ε_grid − ε_exact)/ε_exact of the PLD grid (closed form off) at q = 1. */
  worstClosedFormGap: number;
  /** Queries whose ε came from another method than the accountant's own (RDP smaller, or PLD out of reach). */
  fallbacks: number;
  /** Every broken promise, in words (empty when all hold). */
  violations: string[];
}

const key = (q: number, s: number, t: number, d: number) => `q=${q} σ=${s} T=${t} δ=${d}`;

/** TV distance of one step, q·(2Φ(1/(2σ)) − 1): the composition's δ(0) is at least this. */
function oneStepTv(q: number, sigma: number): number {
  return q * (2 * normalCdf(1 / (2 * sigma)) - 1);
}

export function accountingSweep(grid: SweepGrid): SweepSummary {
  const violations: string[] = [];
  const results = new Map<string, SweepQuery>();
  let worstMs = 0;
  let worstQuery = '';
  let fallbacks = 0;
  let worstGap = 0;
  const startRss = process.resourceUsage().maxRSS;
  let i = 0;
  let worstCalibrateMs = 0;
  for (const q of grid.sampleRates)
    for (const sigma of grid.noiseMultipliers)
      for (const steps of grid.steps)
        for (const delta of grid.deltas) {
          const name = key(q, sigma, steps, delta);
          const fail = (what: string) => violations.push(`${name}: ${what}`);
          const history = [{ event: poissonSampledGaussian({ noiseMultiplier: sigma, sampleRate: q }), count: steps }];
          const t0 = performance.now();
          const pld = computeEpsilon(history, delta, { accountant: 'pld' });
          const ms = performance.now() - t0;
          const rdp = computeEpsilon(history, delta, { accountant: 'rdp' });
          results.set(name, { q, sigma, steps, delta, pld, rdp: rdp.epsilon, ms });
          if (ms > worstMs) {
            worstMs = ms;
            worstQuery = name;
          }
          if (pld.fallback !== undefined) fallbacks++;
          const lower = pld.epsilonLower ?? 0;
          for (const [what, v] of [
            ['pld', pld.epsilon],
            ['rdp', rdp.epsilon],
          ] as const) {
            if (Number.isNaN(v)) fail(`${what} ε is NaN`);
          }
          if (pld.epsilon === Infinity && pld.fallback === undefined) fail('PLD ε is Infinity without a flag');
          if (pld.epsilon === Infinity && rdp.epsilon < Infinity) fail('PLD ε is Infinity where RDP is finite');
          if (!(lower <= pld.epsilon)) fail(`PLD lower ${lower} > upper ${pld.epsilon}`);
          if (!(lower <= rdp.epsilon * (1 + 1e-9))) fail(`RDP ${rdp.epsilon} below the PLD lower bound ${lower}`);
          if (!(pld.epsilon <= rdp.epsilon)) fail(`PLD ${pld.epsilon} above RDP ${rdp.epsilon}`);
          if (delta < oneStepTv(q, sigma) && !(pld.epsilon > 0)) fail('ε = 0 for a mechanism with δ(0) > δ');
          if (q === 1) {
            const exact = gaussianEpsilonBracket(Math.sqrt(steps) / sigma, delta);
            if (!(pld.epsilon >= exact.lower)) fail(`ε ${pld.epsilon} below the closed form ${exact.lower}`);
            // The grid itself against the exact value (closed form off).
            const grid = pldEpsilon(history, delta, { closedForm: false, lowerBound: false });
            if (!(grid.upper >= exact.lower)) fail(`PLD grid ε ${grid.upper} below the closed form ${exact.lower}`);
            if (exact.upper > 0) worstGap = Math.max(worstGap, grid.upper / exact.upper - 1);
          }
          const calibrateHere = grid.calibrateEvery > 0 && i++ % grid.calibrateEvery === 0;
          if (calibrateHere && pld.epsilon > 0 && pld.epsilon < Infinity) {
            // calibrate∘epsilon: asking for ε(σ) gives back σ (within the tolerance and the grids' play).
            const c0 = performance.now();
            const target = pld.epsilon;
            const c = calibrateNoiseMultiplier({ epsilon: target, delta, sampleRate: q, steps, accountant: 'pld' });
            worstCalibrateMs = Math.max(worstCalibrateMs, performance.now() - c0);
            if (!(c.epsilon <= pld.epsilon)) fail(`calibrate's ε ${c.epsilon} above the target ${pld.epsilon}`);
            if (!(Math.abs(c.noiseMultiplier / sigma - 1) < 0.01)) {
              fail(`calibrate returned σ ${c.noiseMultiplier} for the ε of σ ${sigma}`);
            }
          }
        }
  // Monotonicity, checked soundly (the truth at the smaller setting is ≤ the truth at the larger:
  // lower(small) ≤ upper(large)) and practically (upper(small) ≤ upper(large)·1.001).
  const check = (a: SweepQuery | undefined, b: SweepQuery | undefined, what: string) => {
    if (!a || !b) return;
    const la = a.pld.epsilonLower ?? 0;
    if (!(la <= b.pld.epsilon * (1 + 1e-9)) || !(a.pld.epsilon <= b.pld.epsilon * 1.001 + 1e-9)) {
      const [ka, kb] = [key(a.q, a.sigma, a.steps, a.delta), key(b.q, b.sigma, b.steps, b.delta)];
      violations.push(`not monotone in ${what}: ${ka} ε ${a.pld.epsilon} > ${kb} ε ${b.pld.epsilon}`);
    }
  };
  const at = (q: number, s: number, t: number, d: number) => results.get(key(q, s, t, d));
  const sorted = (xs: readonly number[]) => [...xs].sort((x, y) => x - y);
  const qs = sorted(grid.sampleRates);
  const ss = sorted(grid.noiseMultipliers);
  const ts = sorted(grid.steps);
  for (const q of qs)
    for (const s of ss)
      for (const d of grid.deltas)
        for (let k = 1; k < ts.length; k++) {
          check(at(q, s, ts[k - 1] as number, d), at(q, s, ts[k] as number, d), 'steps');
        }
  for (const s of ss)
    for (const t of ts)
      for (const d of grid.deltas)
        for (let k = 1; k < qs.length; k++) {
          check(at(qs[k - 1] as number, s, t, d), at(qs[k] as number, s, t, d), 'q');
        }
  for (const q of qs)
    for (const t of ts)
      for (const d of grid.deltas)
        for (let k = 1; k < ss.length; k++) {
          check(at(q, ss[k] as number, t, d), at(q, ss[k - 1] as number, t, d), '1/σ');
        }
  return {
    queries: results.size,
    worstMs,
    worstQuery,
    worstCalibrateMs,
    maxRssMb: Math.max(startRss, process.resourceUsage().maxRSS) / 1024,
    worstClosedFormGap: worstGap,
    fallbacks,
    violations,
  };
}
