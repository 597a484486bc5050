// Benchmarks of the distance-based robust rules (Krum, multi-Krum, Bulyan) for `npm run bench`:
// the native kernels against a plain TypeScript implementation of the same definitions, in the
// same run. Both build the K×K matrix of squared distances (float64) — O(K²·D), the work that
// dominates — then rank; the outputs are compared so a row never times a wrong baseline.
import { bulyan, krum, multiKrum } from '../kernels/fl.js';
import { medianTime } from './median.js';
import type { SectionRow } from './report.js';

/** Squared L2 distances between the K rows of m (K×D), float64, row-major K×K. */
function distances(m: Float32Array, k: number, d: number): Float64Array {
  const dist = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      let s = 0;
      for (let c = 0, a = i * d, b = j * d; c < d; c++) {
        const x = m[a + c]! - m[b + c]!;
        s += x * x;
      }
      dist[i * k + j] = s;
      dist[j * k + i] = s;
    }
  }
  return dist;
}

/** Krum scores over the rows `alive` (Blanchard et al. 2017): Σ of each row's `nearest` smallest distances. */
function scores(dist: Float64Array, k: number, alive: number[], nearest: number): number[] {
  return alive.map((i) => {
    const row = alive.filter((j) => j !== i).map((j) => dist[i * k + j]!);
    row.sort((a, b) => a - b);
    let s = 0;
    for (let t = 0; t < nearest; t++) s += row[t]!;
    return s;
  });
}

/** The rows of `alive` ordered by Krum score (n − f − 2 nearest, at least 1), ties to the lower index. */
function ranked(dist: Float64Array, k: number, alive: number[], f: number): number[] {
  const n = alive.length;
  const s = scores(dist, k, alive, Math.min(n - 1, Math.max(1, n - f - 2)));
  return alive
    .map((i, t) => ({ i, s: s[t]! }))
    .sort((a, b) => a.s - b.s || a.i - b.i)
    .map((x) => x.i);
}

/** Plain TypeScript multi-Krum: the float64 mean of the `keep` best-scored rows (keep = 1: Krum). */
export function tsMultiKrum(m: Float32Array, k: number, d: number, f: number, keep: number): Float32Array {
  const best = ranked(distances(m, k, d), k, [...Array(k).keys()], f).slice(0, keep);
  const sum = new Float64Array(d);
  for (const i of best) for (let c = 0; c < d; c++) sum[c]! += m[i * d + c]!;
  return Float32Array.from(sum, (v) => v / keep);
}

/**
 * Plain TypeScript Bulyan (El Mhamdi et al., ICML 2018): θ = K − 2f rows chosen by iterated Krum,
 * then per coordinate the mean of the β = θ − 2f chosen values closest to their median.
 */
export function tsBulyan(m: Float32Array, k: number, d: number, f: number): Float32Array {
  const dist = distances(m, k, d);
  const theta = k - 2 * f;
  const beta = theta - 2 * f;
  const alive = [...Array(k).keys()];
  const chosen: number[] = [];
  while (chosen.length < theta) {
    const pick = ranked(dist, k, alive, f)[0]!; // Krum over the rows not chosen yet
    chosen.push(pick);
    alive.splice(alive.indexOf(pick), 1);
  }
  const out = new Float32Array(d);
  const col = new Float64Array(theta);
  for (let c = 0; c < d; c++) {
    for (let t = 0; t < theta; t++) col[t] = m[chosen[t]! * d + c]!;
    col.sort();
    const med = theta % 2 ? col[theta >> 1]! : (col[(theta >> 1) - 1]! + col[theta >> 1]!) / 2;
    const near = Array.from(col).sort((a, b) => Math.abs(a - med) - Math.abs(b - med) || a - b);
    let s = 0;
    for (let t = 0; t < beta; t++) s += near[t]!;
    out[c] = s / beta;
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/**
 * Rows: native and TypeScript Krum, multi-Krum (keep K − f) and Bulyan of K updates of D floats
 * with f Byzantine tolerated. The baseline runs once (it takes seconds), the native kernel `runs`
 * times after the cold call (reported apart); the outputs must agree (else the row is an error, not a figure).
 */
export function benchRobust(m: Float32Array, k: number, d: number, runs: number): SectionRow[] {
  const f = Math.floor((k - 3) / 8); // Bulyan needs K ≥ 4f + 3; a quarter of that Byzantine budget
  const shape = `${k}×${d.toExponential(0).replace('+', '')}, f ${f}`;
  const rules = [
    { name: 'krum', native: () => krum(m, { count: k, byzantine: f }), ts: () => tsMultiKrum(m, k, d, f, 1) },
    {
      name: 'multi-krum',
      native: () => multiKrum(m, { count: k, byzantine: f }),
      ts: () => tsMultiKrum(m, k, d, f, k - f),
    },
    { name: 'bulyan', native: () => bulyan(m, { count: k, byzantine: f }), ts: () => tsBulyan(m, k, d, f) },
  ];
  const rows: SectionRow[] = [];
  for (const rule of rules) {
    const t0 = performance.now();
    const expected = rule.native(); // the cold call (first touch of the pool and pages)
    const coldMs = performance.now() - t0;
    let baseline: Float32Array | undefined;
    const tsMs = medianTime(1, () => (baseline = rule.ts()));
    const diff = maxAbsDiff(expected, baseline!);
    // The selection is the same set, so only the float64 sums' rounding may differ.
    if (!(diff <= 1e-6)) throw new Error(`fl ${rule.name}: native and TypeScript outputs differ by ${diff}`);
    const nativeMs = medianTime(runs, () => rule.native());
    rows.push({
      name: `fl ${rule.name} ${shape} native`,
      medianMs: nativeMs,
      detail: `${(tsMs / nativeMs).toFixed(1)}x vs TypeScript; cold call ${coldMs.toFixed(1)} ms`,
      values: { typescriptMs: tsMs, speedup: tsMs / nativeMs, coldMs },
    });
    rows.push({
      name: `fl ${rule.name} ${shape} typescript`,
      medianMs: tsMs,
      detail: 'float64 pairwise distances + sorts',
    });
  }
  return rows;
}
