// Krum, multi-Krum and Bulyan: the wrappers against a plain float64 reference, their typed errors,
// async = sync bit for bit, and the round aggregator's rules built on them.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bulyan, bulyanAsync, krum, krumAsync, multiKrum, multiKrumAsync } from '../../src/kernels/fl.js';
import { createRoundAggregator } from '../../src/fl/aggregation.js';
import { randomFloats } from '../reference/kernels.js';
import { firstMismatch, TOL } from '../tolerances.js';

const rows = (k: number, dim: number, seed: number) =>
  Array.from({ length: k }, (_, i) => randomFloats(dim, seed * 1000 + i));

// ---- float64 reference, written for clarity --------------------------------------------------

function distances(u: Float32Array[]): number[][] {
  return u.map((a) => u.map((b) => a.reduce((s, v, d) => s + (v - b[d]!) ** 2, 0)));
}

/** Indices of `active` by Krum score among themselves (closest neighbours summed), ties to the lower index. */
function krumOrder(dist: number[][], active: number[], closest: number): number[] {
  const score = (a: number) =>
    active
      .filter((b) => b !== a)
      .map((b) => dist[a]![b]!)
      .sort((x, y) => x - y)
      .slice(0, closest)
      .reduce((s, v) => s + v, 0);
  const scored = active.map((a) => ({ a, s: score(a) }));
  return scored.sort((x, y) => x.s - y.s || x.a - y.a).map((x) => x.a);
}

function meanOf(u: Float32Array[], picked: number[]): Float64Array {
  const out = new Float64Array(u[0]!.length);
  for (const k of picked) u[k]!.forEach((v, d) => (out[d] = out[d]! + v));
  return out.map((v) => v / picked.length);
}

function bulyanRef(u: Float32Array[], f: number): Float64Array {
  const dist = distances(u);
  let remaining = u.map((_, k) => k);
  const chosen: number[] = [];
  while (chosen.length < u.length - 2 * f) {
    const n = remaining.length;
    const best = krumOrder(dist, remaining, Math.min(n - 1, Math.max(1, n - f - 2)))[0]!;
    chosen.push(best);
    remaining = remaining.filter((k) => k !== best);
  }
  const beta = u.length - 4 * f;
  return new Float64Array(u[0]!.length).map((_, d) => {
    const col = chosen.map((k) => u[k]![d]!).sort((a, b) => a - b);
    const n = col.length;
    const med = n % 2 ? col[(n - 1) / 2]! : (col[n / 2 - 1]! + col[n / 2]!) / 2;
    const near = col.map((v) => ({ v, e: Math.abs(v - med) })).sort((a, b) => a.e - b.e || a.v - b.v);
    return near.slice(0, beta).reduce((s, x) => s + x.v, 0) / beta;
  });
}

// ---- tests ------------------------------------------------------------------------------------

describe('Krum, multi-Krum and Bulyan against the float64 reference', () => {
  const shapes: Array<[number, number]> = [
    [3, 1],
    [4, 19],
    [7, 111],
    [11, 989],
    [23, 40],
  ];
  for (const [k, dim] of shapes) {
    it(`${k} updates of ${dim}`, async () => {
      const u = rows(k, dim, k * 7 + dim);
      const dist = distances(u);
      const all = u.map((_, i) => i);
      for (let f = 0; 2 * f + 2 < k; f++) {
        const order = krumOrder(dist, all, k - f - 2);
        // Krum copies the chosen update: equal bit for bit.
        expect(Array.from(krum(u, { byzantine: f }))).toEqual(Array.from(u[order[0]!]!));
        for (const keep of [1, 2, k - f]) {
          const want = meanOf(u, order.slice(0, keep));
          expect(firstMismatch(multiKrum(u, { byzantine: f, keep }), want, TOL.sum)).toBe(-1);
        }
        expect(firstMismatch(multiKrum(u, { byzantine: f }), meanOf(u, order.slice(0, k - f)), TOL.sum)).toBe(-1);
      }
      for (let f = 0; 4 * f + 3 <= k; f++) {
        expect(firstMismatch(bulyan(u, { byzantine: f }), bulyanRef(u, f), TOL.sum)).toBe(-1);
      }
    });
  }

  it('never select planted far-away updates', () => {
    const u = rows(13, 60, 3);
    u[2]!.fill(1e5);
    u[9] = u[9]!.map((v) => v + 30);
    for (const out of [krum(u, { byzantine: 2 }), multiKrum(u, { byzantine: 2 }), bulyan(u, { byzantine: 2 })]) {
      for (const v of out) expect(Math.abs(v)).toBeLessThan(3);
    }
  });
});

describe('Krum, multi-Krum and Bulyan: bad input', () => {
  const u = rows(6, 5, 1);
  it('refuses f and keep outside the papers’ conditions with typed errors', () => {
    expect(() => krum(u, {} as never)).toThrow(/^options.byzantine must be a non-negative integer, received undefined/);
    expect(() => krum(u, undefined as never)).toThrow(TypeError);
    expect(() => krum(u, { byzantine: -1 })).toThrow(/^options.byzantine must be a non-negative integer, received -1/);
    expect(() => krum(u, { byzantine: 1.5 })).toThrow(RangeError);
    expect(() => krum(u, { byzantine: 2 })).toThrow(
      /^options.byzantine must be such that the 6 updates are more than 2 · byzantine \+ 2/,
    );
    expect(() => krum(u.slice(0, 2), { byzantine: 0 })).toThrow(/more than 2 · byzantine \+ 2/);
    expect(() => bulyan(u, { byzantine: 1 })).toThrow(
      /^options.byzantine must be such that the 6 updates are at least 4 · byzantine \+ 3/,
    );
    expect(() => multiKrum(u, { byzantine: 1, keep: 6 })).toThrow(
      /^options.keep must be at most updates.length − byzantine \(5\), received 6/,
    );
    expect(() => multiKrum(u, { byzantine: 1, keep: 0 })).toThrow(/^options.keep must be a positive integer/);
    const out = new Float32Array(4);
    expect(() => krum(u, { byzantine: 1, out })).toThrow(/options.out.length must be 5, received 4/);
    expect(() => krum(new Float32Array(30), { byzantine: 0 })).toThrow(/count must be given/);
    expect(() => krum([u[0]!, new Float32Array(4)], { byzantine: 0 })).toThrow(/updates\[1\].length must be 5/);
  });
  it('refuses a NaN/Inf update naming the first one (sync and async)', async () => {
    const bad = rows(11, 3000, 2);
    bad[8]![10] = Infinity;
    bad[4]![2999] = NaN;
    expect(() => krum(bad, { byzantine: 1 })).toThrow('updates[4] must contain only finite values');
    expect(() => multiKrum(bad, { byzantine: 1 })).toThrow('updates[4] must contain only finite values');
    await expect(bulyanAsync(bad, { byzantine: 2 })).rejects.toMatchObject({ code: 'ERR_DPFL_NON_FINITE', index: 4 });
    await expect(krumAsync(bad, { byzantine: 0 })).rejects.toMatchObject({ code: 'ERR_DPFL_NON_FINITE', index: 4 });
  });
});

describe('Krum, multi-Krum and Bulyan: async and matrix forms', () => {
  it('give the same bits as the sync call on an array of rows', async () => {
    const k = 19;
    const dim = 777;
    const u = rows(k, dim, 5);
    const big = new Float32Array(k * dim + 3);
    u.forEach((r, i) => big.set(r, 3 + i * dim));
    const m = big.subarray(3);
    const out = new Float32Array(dim);
    expect(await krumAsync(m, { count: k, byzantine: 3, out })).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(krum(u, { byzantine: 3 })));
    expect(Array.from(await multiKrumAsync(m, { count: k, byzantine: 3, keep: 9 }))).toEqual(
      Array.from(multiKrum(u, { byzantine: 3, keep: 9 })),
    );
    const b = await bulyanAsync(m, { count: k, byzantine: 4 });
    expect(Array.from(b)).toEqual(Array.from(bulyan(u, { byzantine: 4 })));
  });
});

describe('round aggregator: krum, multi-krum, bulyan', () => {
  const dim = 30;
  const feed = (rule: 'krum' | 'multi-krum' | 'bulyan', u: Float32Array[], byzantine?: number) => {
    const agg = createRoundAggregator(rule, dim, byzantine === undefined ? {} : { byzantine });
    for (const row of u) agg.add(row, 1);
    return agg.result(true);
  };
  it('keep Byzantine reports out and match the kernels', async () => {
    const u = rows(12, dim, 9);
    u[0]!.fill(-1e6);
    u[7]!.fill(1e6);
    expect(Array.from((await feed('krum', u, 2))!)).toEqual(Array.from(krum(u, { byzantine: 2 })));
    expect(Array.from((await feed('multi-krum', u, 2))!)).toEqual(Array.from(multiKrum(u, { byzantine: 2 })));
    expect(Array.from((await feed('bulyan', u, 2))!)).toEqual(Array.from(bulyan(u, { byzantine: 2 })));
    for (const v of (await feed('bulyan', u, 2))!) expect(Math.abs(v)).toBeLessThan(3);
  });
  it('lower f to what a short round allows, and skip a round of fewer than 3 reports', async () => {
    const u = rows(5, dim, 4);
    // f = 3 asked; 5 reports allow Krum f = 1 and Bulyan f = 0.
    expect(Array.from((await feed('krum', u, 3))!)).toEqual(Array.from(krum(u, { byzantine: 1 })));
    expect(Array.from((await feed('bulyan', u, 3))!)).toEqual(Array.from(bulyan(u, { byzantine: 0 })));
    expect(Array.from((await feed('multi-krum', u))!)).toEqual(Array.from(multiKrum(u, { byzantine: 1 })));
    expect(await feed('krum', u.slice(0, 2))).toBeUndefined();
    expect(await feed('bulyan', u.slice(0, 1))).toBeUndefined();
  });
  it('refuses a bad byzantine count and an unknown rule', () => {
    expect(() => createRoundAggregator('krum', dim, { byzantine: -1 })).toThrow(
      /^options.byzantine must be a non-negative integer/,
    );
    expect(() => createRoundAggregator('krum' as never, dim, { byzantine: 'x' as never })).toThrow(TypeError);
    expect(() => createRoundAggregator('kurm' as never, dim)).toThrow(/^rule must be one of mean, median/);
  });
});

describe('dpfl federate --aggregation krum | multi-krum | bulyan --byzantine F', () => {
  // As users run it: the compiled CLI (npm test builds it first).
  const main = new URL('../../dist/cli/main.js', import.meta.url).pathname;
  const base = ['federate', '--rounds', '2', '--per-round', '11', '--clients', '30', '--examples', '1500', '--json'];
  const run = (...args: string[]) => spawnSync('node', [main, ...base, ...args], { encoding: 'utf8' });
  it('runs each rule and reports it with f', () => {
    for (const rule of ['krum', 'multi-krum', 'bulyan']) {
      const out = execFileSync('node', [main, ...base, '--aggregation', rule, '--byzantine', '2']);
      const report = JSON.parse(out.toString());
      expect(report).toMatchObject({ aggregation: rule, byzantine: 2, skipped: 0 });
      expect(report.accuracy).toBeGreaterThan(0);
    }
  });
  it('refuses --byzantine without a rule that uses it, and a negative count', () => {
    const median = run('--aggregation', 'median', '--byzantine', '1');
    expect(median.status).not.toBe(0);
    expect(median.stderr).toMatch(/--byzantine must be given with --aggregation krum, multi-krum or bulyan/);
    const negative = run('--aggregation', 'krum', '--byzantine=-1');
    expect(negative.stderr).toMatch(/--byzantine must be an integer >= 0, received -1/);
  });
});
