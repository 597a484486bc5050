// Accounting benchmark: median wall time of ε for 1e5 steps (RDP, PLD at the default grid, which
// meets the 1% accuracy bound — see docs/accounting.md) and of calibration. Plain performance.now()
// loops, no dependency; caches are bypassed by changing σ slightly on every repetition. Then the
// accountant sweep of issue 12 (sweep.ts): the coarse grid with --quick, the full one otherwise,
// with its worst query time, peak memory and worst gap of the PLD grid to the closed form.

import { performance } from 'node:perf_hooks';
import { calibrateNoiseMultiplier } from '../accounting/calibrate.js';
import { poissonSampledGaussian } from '../accounting/events.js';
import { DEFAULT_PLD_DISCRETIZATION, pldEpsilon } from '../accounting/pld-accountant.js';
import { rdpEpsilon } from '../accounting/rdp-accountant.js';
import { accountingSweep, COARSE_SWEEP, FULL_SWEEP } from './accounting-sweep.js';
import { median } from './median.js';
import type { SectionRow } from './report.js';

/** One row of the bench's section table. */
export type BenchRow = SectionRow;

function time(reps: number, fn: (i: number) => unknown): { ms: number; last: unknown } {
  const ts: number[] = [];
  let last: unknown;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    last = fn(i);
    ts.push(performance.now() - t);
  }
  return { ms: median(ts), last };
}

export async function benchAccounting(options: { quick?: boolean } = {}): Promise<BenchRow[]> {
  const q = 256 / 60000;
  const steps = 100_000;
  const delta = 1e-5;
  const reps = options.quick ? 3 : 7;
  const sigma = (i: number) => 1.1 * (1 + 1e-6 * (i + 1)); // defeat per-event caches
  const history = (s: number) => [
    { event: poissonSampledGaussian({ noiseMultiplier: s, sampleRate: q }), count: steps },
  ];
  const rows: BenchRow[] = [];
  time(2, (i) => rdpEpsilon(history(2 + i), delta)); // warm-up (JIT)
  const rdp = time(reps * 3, (i) => rdpEpsilon(history(sigma(i)), delta));
  const rdpMs = rdp.ms;
  rows.push({
    name: 'accounting: rdp epsilon, 1e5 steps',
    medianMs: rdpMs,
    detail: `q=${q.toPrecision(4)} σ=1.1 δ=1e-5 ε=${(rdp.last as { epsilon: number }).epsilon.toFixed(4)}`,
  });
  const pld = time(reps, (i) =>
    pldEpsilon(history(sigma(i)), delta, { discretization: DEFAULT_PLD_DISCRETIZATION, lowerBound: false }),
  );
  const pldR = pld.last as { upper: number };
  rows.push({
    name: 'accounting: pld epsilon (upper), 1e5 steps',
    medianMs: pld.ms,
    detail: `Δ=${DEFAULT_PLD_DISCRETIZATION} ε≤${pldR.upper.toFixed(4)}`,
  });
  const pldBoth = time(reps, (i) => pldEpsilon(history(sigma(i)), delta));
  const b = pldBoth.last as { upper: number; lower: number };
  rows.push({
    name: 'accounting: pld epsilon interval, 1e5 steps',
    medianMs: pldBoth.ms,
    detail: `ε∈[${b.lower.toFixed(4)}, ${b.upper.toFixed(4)}]`,
  });
  const calR = time(reps, (i) =>
    calibrateNoiseMultiplier({ epsilon: 8 + 1e-3 * i, delta, sampleRate: q, steps, accountant: 'rdp' }),
  );
  rows.push({
    name: 'accounting: rdp calibrate σ, 1e5 steps',
    medianMs: calR.ms,
    detail: `${(calR.ms / rdpMs).toFixed(1)}× one rdp ε; σ=${(calR.last as { noiseMultiplier: number }).noiseMultiplier.toFixed(4)}`,
  });
  const calP = time(options.quick ? 1 : 3, (i) =>
    calibrateNoiseMultiplier({ epsilon: 8 + 1e-3 * i, delta, sampleRate: q, steps, accountant: 'pld' }),
  );
  rows.push({
    name: 'accounting: pld calibrate σ, 1e5 steps',
    medianMs: calP.ms,
    detail: `${(calP.ms / pld.ms).toFixed(1)}× one pld ε; σ=${(calP.last as { noiseMultiplier: number }).noiseMultiplier.toFixed(4)}`,
  });
  const t0 = performance.now();
  const sweep = accountingSweep(options.quick ? COARSE_SWEEP : FULL_SWEEP);
  rows.push({
    name: `accounting: sweep of ${sweep.queries} queries (${options.quick ? 'coarse' : 'full'} grid), worst query`,
    medianMs: sweep.worstMs,
    detail:
      `worst at ${sweep.worstQuery}; worst calibrate ${sweep.worstCalibrateMs.toFixed(0)} ms; ` +
      `peak RSS ${sweep.maxRssMb.toFixed(0)} MB; ` +
      `worst PLD-grid gap to the closed form ${(100 * sweep.worstClosedFormGap).toFixed(4)}%; ` +
      `${sweep.fallbacks} fallbacks; ${sweep.violations.length} violations` +
      `${sweep.violations.length ? `: ${sweep.violations.slice(0, 3).join('; ')}` : ''}; ` +
      `sweep ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    values: {
      queries: sweep.queries,
      worstMs: sweep.worstMs,
      worstCalibrateMs: sweep.worstCalibrateMs,
      maxRssMb: sweep.maxRssMb,
      worstClosedFormGap: sweep.worstClosedFormGap,
      fallbacks: sweep.fallbacks,
      violations: sweep.violations.length,
    },
  });
  return rows;
}
