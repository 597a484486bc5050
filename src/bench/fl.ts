// Benchmarks of the FL kernels for `npm run bench`: coordinate-wise median and trimmed mean of
// 100 updates of 1e6 floats (native vs a plain TypeScript baseline in the same run), and
// streaming weighted aggregation of 1000 updates of 1e6 floats (or reduced shapes with quick), and the
// distance-based rules (Krum, multi-Krum, Bulyan; fl-robust.ts) on 100 updates of 1e5 floats.
import { createRoundAggregator } from '../fl/aggregation.js';
import { coordinateMedian, trimmedMean } from '../kernels/fl.js';
import { Random } from '../data/random.js';
import { benchRobust } from './fl-robust.js';
import { medianTime } from './median.js';
import type { SectionRow } from './report.js';

/** One row of the bench's section table. */
export type FlBenchRow = SectionRow;

function randomMatrix(k: number, d: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const m = new Float32Array(k * d);
  for (let i = 0; i < m.length; i++) m[i] = rng.next() - 0.5;
  return m;
}

/** Plain TypeScript: gather each column, sort it (typed-array sort), take the middle. */
export function tsCoordinateMedian(m: Float32Array, k: number, d: number, out: Float32Array): void {
  const col = new Float32Array(k);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < k; i++) col[i] = m[i * d + j]!;
    col.sort();
    out[j] = k % 2 ? col[k >> 1]! : (col[(k >> 1) - 1]! + col[k >> 1]!) / 2;
  }
}

/** Plain TypeScript trimmed mean: sort each column, average the middle k − 2·trim values. */
export function tsTrimmedMean(m: Float32Array, k: number, d: number, trim: number, out: Float32Array): void {
  const col = new Float32Array(k);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < k; i++) col[i] = m[i * d + j]!;
    col.sort();
    let s = 0;
    for (let i = trim; i < k - trim; i++) s += col[i]!;
    out[j] = s / (k - 2 * trim);
  }
}

/**
 * Rows: native and TypeScript median and trimmed mean (trim 10%) of K×D, and streaming
 * aggregation of `count` updates of D floats folded into the native Aggregator (updates cycle
 * through 16 distinct buffers of D floats, 64 MB at D = 1e6, so they are read from memory).
 */
export async function benchFl(options: { quick?: boolean } = {}): Promise<FlBenchRow[]> {
  const quick = options.quick ?? false;
  const k = 100;
  const d = quick ? 100_000 : 1_000_000;
  const rows: FlBenchRow[] = [];
  const m = randomMatrix(k, d, 1);
  const out = new Float32Array(d);
  const runs = quick ? 3 : 5;
  const trim = 10;
  const shape = `${k}×${d.toExponential(0).replace('+', '')}`;
  coordinateMedian(m, { count: k, out }); // warm the pool and pages
  const medNative = medianTime(runs, () => coordinateMedian(m, { count: k, out }));
  const medTs = medianTime(1, () => tsCoordinateMedian(m, k, d, out));
  rows.push({
    name: `fl median ${shape} native`,
    medianMs: medNative,
    detail: `${(medTs / medNative).toFixed(1)}x vs TypeScript`,
  });
  rows.push({ name: `fl median ${shape} typescript`, medianMs: medTs, detail: 'column gather + Float32Array sort' });
  const tmNative = medianTime(runs, () => trimmedMean(m, { count: k, trim, out }));
  const tmTs = medianTime(1, () => tsTrimmedMean(m, k, d, trim, out));
  rows.push({
    name: `fl trimmed mean ${shape} (trim ${trim}) native`,
    medianMs: tmNative,
    detail: `${(tmTs / tmNative).toFixed(1)}x vs TypeScript`,
  });
  rows.push({
    name: `fl trimmed mean ${shape} (trim ${trim}) typescript`,
    medianMs: tmTs,
    detail: 'column gather + Float32Array sort',
  });

  const count = quick ? 100 : 1000;
  const buffers = Array.from({ length: 16 }, (_, i) => randomMatrix(1, d, 100 + i));
  // The server's streaming path: the 'mean' round aggregator folds 16 arrivals per pass.
  const streamTimes: number[] = [];
  for (let r = 0; r < 3; r++) {
    const agg = createRoundAggregator('mean', d);
    const t0 = performance.now();
    for (let i = 0; i < count; i++) agg.add(buffers[i % buffers.length]!, 1 + (i % 7));
    await agg.result(true);
    streamTimes.push(performance.now() - t0);
  }
  const stream = streamTimes.sort((a, b) => a - b)[1]!;
  const bytes = count * d * 4;
  rows.push({
    name: `fl streaming aggregation ${count}×${d.toExponential(0).replace('+', '')}`,
    medianMs: stream,
    detail: `${(bytes / (stream / 1000) / 1e9).toFixed(2)} GB/s of updates read (float64 state of D, 16 updates folded per pass)`,
  });
  // O(K²·D): a tenth of D keeps the TypeScript baseline to seconds.
  const kRobust = quick ? 50 : 100;
  rows.push(...benchRobust(randomMatrix(kRobust, 100_000, 2), kRobust, 100_000, runs));
  return rows;
}
