import { describe, expect, it } from 'vitest';
import { Aggregator, weightedSum, weightedSumAsync } from '../src/index.js';
import { randomFloats, weightedSumRef } from './reference/kernels.js';
import { firstMismatch, TOL } from './tolerances.js';

const clients = (k: number, dim: number, seed: number) =>
  Array.from({ length: k }, (_, i) => randomFloats(dim, seed * 1000 + i));

describe('aggregation: bad input', () => {
  const u = clients(3, 5, 1);
  it('rejects wrong types', () => {
    expect(() => weightedSum([new Float64Array(5)] as never, [1])).toThrow(
      /^updates\[0\] must be a Float32Array, received Float64Array\(5\)/,
    );
    expect(() => weightedSum('x' as never, [1])).toThrow(TypeError);
    expect(() => weightedSum(u, 'abc' as never)).toThrow(/weights must be an array of non-negative numbers/);
    expect(() => new Aggregator(3).add(new Float64Array(3) as never)).toThrow(/update must be a Float32Array/);
  });
  it('rejects negative or non-finite weights, naming the index', () => {
    expect(() => weightedSum(u, [1, -1, 1])).toThrow(/^weights\[1\] must be a non-negative finite number, received -1/);
    expect(() => weightedSum(u, [1, 1, NaN])).toThrow(
      /^weights\[2\] must be a non-negative finite number, received NaN/,
    );
    expect(() => weightedSum(u, [1, Infinity, 1])).toThrow(RangeError);
    expect(() => weightedSum(u, [0, 0, 0], { normalize: true })).toThrow(/weights must be of positive sum/);
    expect(() => new Aggregator(5).add(u[0]!, -2)).toThrow(/weight must be a non-negative finite number, received -2/);
  });
  it('rejects K updates of unequal lengths and count mismatches', () => {
    expect(() => weightedSum([u[0]!, new Float32Array(4)], [1, 1])).toThrow(
      /^updates\[1\].length must be 5 like updates\[0\], received 4/,
    );
    expect(() => weightedSum(u, [1, 1])).toThrow(/updates.length must be weights.length \(2\), received 3/);
    expect(() => weightedSum(new Float32Array(10), [1, 1, 1])).toThrow(
      /updates.length must be a multiple of weights.length \(3\)/,
    );
    expect(() => weightedSum(u, [1, 1, 1], { out: new Float32Array(4) })).toThrow(
      /options.out.length must be 5, received 4/,
    );
    expect(() => weightedSum([], [])).toThrow(/weights.length must be positive/);
    expect(() => new Aggregator(0)).toThrow(/dim must be a positive integer, received 0/);
    expect(() => new Aggregator(5).add(new Float32Array(4))).toThrow(
      /update.length must be the aggregator's dim \(5\), received 4/,
    );
  });
  it('refuses a NaN/Inf update with an error naming it (sync and async)', async () => {
    const bad = clients(4, 3000, 2);
    bad[2]![2999] = NaN;
    let err: unknown;
    try {
      weightedSum(bad, [1, 1, 1, 1]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toBe('updates[2] must contain only finite values');
    expect((err as { code: string }).code).toBe('ERR_DPFL_NON_FINITE');
    await expect(weightedSumAsync(bad, [1, 1, 1, 1])).rejects.toThrow('updates[2] must contain only finite values');
  });
  it('rejects a detached update', () => {
    const buf = new ArrayBuffer(20);
    const d = new Float32Array(buf);
    structuredClone(buf, { transfer: [buf] });
    expect(() => weightedSum([d], [1])).toThrow(/updates\[0\] must be an attached Float32Array/);
  });
});

describe('weightedSum against the float64 reference', () => {
  const shapes: Array<[number, number]> = [
    [1, 1],
    [3, 19],
    [10, 2047],
    [7, 2049],
    [100, 111],
    [2, 989],
  ];
  for (const [k, dim] of shapes) {
    it(`K=${k} D=${dim}, list and K×D matrix, normalized or not`, () => {
      const u = clients(k, dim, k + dim);
      const w = u.map((_, i) => ((i * 37) % 11) + 0.5);
      const matrix = new Float32Array(k * dim);
      u.forEach((x, i) => matrix.set(x, i * dim));
      for (const normalize of [false, true]) {
        const ref = weightedSumRef(u, w, normalize);
        // Relative to the summands: sum of weights bounds |Σ w u| / max|u|.
        const scale = normalize ? 1 : w.reduce((s, x) => s + x, 0);
        const tol = { rtol: TOL.sum.rtol, atol: TOL.sum.atol * scale };
        expect(firstMismatch(weightedSum(u, w, { normalize }), ref, tol)).toBe(-1);
        expect(firstMismatch(weightedSum(matrix, new Float64Array(w), { normalize }), ref, tol)).toBe(-1);
      }
    });
  }
  it('honours out (a subarray view) and subarray updates', async () => {
    const backing = randomFloats(3 + 2 * 50, 4);
    const u = [backing.subarray(3, 53), backing.subarray(53, 103)];
    const outBacking = new Float32Array(60).fill(7);
    const out = outBacking.subarray(5, 55);
    expect(weightedSum(u, [2, 3], { out })).toBe(out);
    expect(outBacking[4]).toBe(7);
    expect(outBacking[55]).toBe(7);
    expect(firstMismatch(out, weightedSumRef(u, [2, 3], false), TOL.sum)).toBe(-1);
    const viaAsync = await weightedSumAsync(u, [2, 3]);
    expect(viaAsync).toEqual(out);
  });

  it('out may be one of the updates: an in-place sum over several column tiles', () => {
    const d = 70_001;
    const a = randomFloats(d, 5);
    const b = randomFloats(d, 6);
    const ref = weightedSum([a, b], [1, 0.5]);
    expect(weightedSum([a, b], [1, 0.5], { out: a })).toBe(a);
    expect(a).toEqual(ref);
  });
});

describe('Aggregator (streaming, float64 state)', () => {
  it('equals weightedSum, counts, resets', () => {
    const dim = 4099;
    const u = clients(12, dim, 5);
    const w = u.map((_, i) => 10 + i);
    const agg = new Aggregator(dim);
    u.forEach((x, i) => agg.add(x, w[i]));
    expect(agg.count).toBe(12);
    expect(agg.totalWeight).toBe(w.reduce((s, x) => s + x, 0));
    expect(agg.result({ normalize: true })).toEqual(weightedSum(u, w, { normalize: true }));
    expect(agg.result()).toEqual(weightedSum(u, w));
    agg.reset();
    expect(agg.count).toBe(0);
    expect(() => agg.result({ normalize: true })).toThrow(/totalWeight must be positive to normalize/);
    agg.add(u[0]!);
    expect(agg.result()).toEqual(u[0]);
  });
  it('addMany equals repeated add (list and matrix) and is all-or-nothing', () => {
    const dim = 5003;
    const u = clients(11, dim, 8);
    const w = u.map((_, i) => 1 + i);
    const one = new Aggregator(dim);
    u.forEach((x, i) => one.add(x, w[i]));
    const many = new Aggregator(dim).addMany(u.slice(0, 4), w.slice(0, 4));
    const matrix = new Float32Array(7 * dim);
    u.slice(4).forEach((x, i) => matrix.set(x, i * dim));
    many.addMany(matrix, w.slice(4));
    expect(many.count).toBe(11);
    expect(many.result({ normalize: true })).toEqual(one.result({ normalize: true }));
    const bad = u.map((x) => x.slice());
    bad[3]![7] = Infinity;
    expect(() => many.addMany(bad, w)).toThrow('updates[3] must contain only finite values');
    expect(() =>
      many.addMany(
        u,
        w.map((x, i) => (i === 2 ? -1 : x)),
      ),
    ).toThrow(/weights\[2\] must be a non-negative finite number/);
    expect(() => many.addMany([u[0]!, new Float32Array(3)], [1, 1])).toThrow(
      /updates\[1\].length must be the aggregator's dim/,
    );
    expect(many.count).toBe(11);
    expect(many.result({ normalize: true })).toEqual(one.result({ normalize: true }));
  });
  it('a refused update leaves the state unchanged', () => {
    const agg = new Aggregator(3);
    agg.add(new Float32Array([1, 2, 3]), 2);
    expect(() => agg.add(new Float32Array([1, Infinity, 3]), 1)).toThrow(/update must contain only finite values/);
    expect(agg.count).toBe(1);
    expect(agg.result()).toEqual(new Float32Array([2, 4, 6]));
  });
});
