// The memory mode a bench run measured. The shared VMs these benchmarks run on switch, without
// notice and sometimes within a run, between levels of read bandwidth that are properties of the
// host, not of dpfl: every sample of 2026-11-24 read 32-35 GB/s ("slow"), while 2026-12-01 and
// 2026-12-02 moved between that and 45-60 GB/s ("fast"; issue 18 quotes ~60). Ratios against the
// same-run probe are comparable across modes; absolute times are not, so every result says which
// mode it was measured in. The one table of thresholds is here.
import type { ProbeSample } from './harness.js';
import { median } from './median.js';

export interface MemoryModeBand {
  name: 'slow' | 'fast';
  /** The level seen in this mode, GB/s of the read probe. */
  nominalGBps: number;
  /** The band [low, high) that counts as this mode. */
  lowGBps: number;
  highGBps: number;
}

/**
 * slow: 35 GB/s with its observed spread (32-35) and a margin of 3 each side; fast: 44-72 around
 * the observed 45-60. The gap 41-44 and anything outside (e.g. 27-28 GB/s, seen on 2026-12-03)
 * is reported as 'other (X GB/s)' rather than forced into a mode it does not match.
 */
export const MEMORY_MODE_BANDS: readonly MemoryModeBand[] = [
  { name: 'slow', nominalGBps: 35, lowGBps: 29.5, highGBps: 41 },
  { name: 'fast', nominalGBps: 60, lowGBps: 44, highGBps: 72 },
];

/** 'slow', 'fast' or 'other (X GB/s)' for one probe reading. */
export function memoryModeOf(probeGBps: number): string {
  const band = MEMORY_MODE_BANDS.find((b) => probeGBps >= b.lowGBps && probeGBps < b.highGBps);
  return band?.name ?? `other (${probeGBps.toFixed(0)} GB/s)`;
}

export interface RunMemoryMode {
  /** The mode of the median probe sample of the run. */
  label: string;
  /** The median of the probe samples' best GB/s (the run's typical bandwidth, not its peak). */
  medianGBps: number;
  /** How many probe samples fell in each mode; more than one key: the mode switched during the run. */
  samples: Record<string, number>;
}

/** The run's mode from all its probe samples (start, one per shape, end); null without a probe. */
export function runMemoryMode(samples: ProbeSample[]): RunMemoryMode | null {
  if (samples.length === 0) return null;
  const counts: Record<string, number> = {};
  for (const s of samples) {
    const mode = memoryModeOf(s.bestGBps).replace(/^other.*/, 'other');
    counts[mode] = (counts[mode] ?? 0) + 1;
  }
  const medianGBps = median(samples.map((s) => s.bestGBps));
  return { label: memoryModeOf(medianGBps), medianGBps, samples: counts };
}

/** One line for the table headers: "memory mode: slow (median probe 34.1 GB/s; switched: ...)". */
export function describeMemoryMode(mode: RunMemoryMode | null): string {
  if (mode === null) return 'memory mode: unknown (no probe)';
  const kinds = Object.entries(mode.samples);
  const switched =
    kinds.length > 1 ? `; switched during the run: ${kinds.map(([k, n]) => `${n} samples ${k}`).join(', ')}` : '';
  return `memory mode: ${mode.label} (median probe sample ${mode.medianGBps.toFixed(1)} GB/s${switched})`;
}
