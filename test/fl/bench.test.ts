import { describe, expect, it } from 'vitest';
import { benchFl, tsCoordinateMedian, tsTrimmedMean } from '../../src/bench/fl.js';
import { benchRobust, tsBulyan, tsMultiKrum } from '../../src/bench/fl-robust.js';
import { bulyan, coordinateMedian, krum, multiKrum, trimmedMean } from '../../src/kernels/fl.js';
import { randomFloats } from '../reference/kernels.js';

describe('FL benchmark hook', () => {
  it('the TypeScript baselines compute the same results as the native kernels', () => {
    const k = 9;
    const d = 301;
    const m = randomFloats(k * d, 4);
    const a = new Float32Array(d);
    tsCoordinateMedian(m, k, d, a);
    expect(Array.from(a)).toEqual(Array.from(coordinateMedian(m, { count: k })));
    tsTrimmedMean(m, k, d, 2, a);
    const native = trimmedMean(m, { count: k, trim: 2 });
    a.forEach((v, i) => expect(v).toBeCloseTo(native[i]!, 5));
  });
  it('the Krum, multi-Krum and Bulyan baselines select what the native kernels select', () => {
    // Planted outliers (rows 0 and 5 shifted) make the selections unambiguous; the outputs are
    // means of the same rows, so they agree to float32 rounding of different float64 sums.
    for (const [k, d, f] of [
      [7, 33, 1],
      [11, 200, 2],
      [23, 64, 5],
    ] as const) {
      const m = randomFloats(k * d, k);
      for (let c = 0; c < d; c++) {
        m[c]! += 4;
        m[5 * d + c]! -= 3;
      }
      const close = (a: Float32Array, b: Float32Array) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 6));
      close(tsMultiKrum(m, k, d, f, 1), krum(m, { count: k, byzantine: f }));
      close(tsMultiKrum(m, k, d, f, k - f), multiKrum(m, { count: k, byzantine: f }));
      if (k >= 4 * f + 3) close(tsBulyan(m, k, d, f), bulyan(m, { count: k, byzantine: f }));
    }
  });
  it('the robust rows: native and TypeScript per rule, the speed-up and the cold call', () => {
    const rows = benchRobust(randomFloats(19 * 500, 9), 19, 500, 2);
    expect(rows.map((r) => r.name)).toEqual(
      ['krum', 'multi-krum', 'bulyan'].flatMap((n) => [`fl ${n} 19×5e2, f 2 native`, `fl ${n} 19×5e2, f 2 typescript`]),
    );
    rows.forEach((r) => expect(r.medianMs).toBeGreaterThan(0));
    expect(rows[0]!.values!.speedup).toBeCloseTo(rows[1]!.medianMs / rows[0]!.medianMs, 9);
    expect(rows[0]!.values!.coldMs).toBeGreaterThan(0);
  });
  it('quick mode returns the eleven rows with positive timings', async () => {
    const rows = await benchFl({ quick: true });
    expect(rows.map((r) => r.name)).toEqual([
      'fl median 100×1e5 native',
      'fl median 100×1e5 typescript',
      'fl trimmed mean 100×1e5 (trim 10) native',
      'fl trimmed mean 100×1e5 (trim 10) typescript',
      'fl streaming aggregation 100×1e5',
      ...['krum', 'multi-krum', 'bulyan'].flatMap((n) => [
        `fl ${n} 50×1e5, f 5 native`,
        `fl ${n} 50×1e5, f 5 typescript`,
      ]),
    ]);
    rows.forEach((r) => expect(r.medianMs).toBeGreaterThan(0));
    expect(rows[4]!.detail).toMatch(/GB\/s/);
  });
});
