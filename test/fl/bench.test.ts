import { describe, expect, it } from 'vitest';
import { benchFl, tsCoordinateMedian, tsTrimmedMean } from '../../src/bench/fl.js';
import { coordinateMedian, trimmedMean } from '../../src/kernels/fl.js';
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
  it('quick mode returns the five rows with positive timings', async () => {
    const rows = await benchFl({ quick: true });
    expect(rows.map((r) => r.name)).toEqual([
      'fl median 100×1e5 native',
      'fl median 100×1e5 typescript',
      'fl trimmed mean 100×1e5 (trim 10) native',
      'fl trimmed mean 100×1e5 (trim 10) typescript',
      'fl streaming aggregation 100×1e5',
    ]);
    rows.forEach((r) => expect(r.medianMs).toBeGreaterThan(0));
    expect(rows[4]!.detail).toMatch(/GB\/s/);
  });
});
