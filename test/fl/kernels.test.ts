import { describe, expect, it } from 'vitest';
import {
  applyMask,
  coordinateMedian,
  coordinateMedianAsync,
  dequantizeFixed,
  quantizeFixed,
  sumMod,
  trimmedMean,
  trimmedMeanAsync,
} from '../../src/kernels/fl.js';
import { randomFloats } from '../reference/kernels.js';
import { firstMismatch, TOL } from '../tolerances.js';
import { chachaWord, medianRef, trimmedMeanRef } from './reference.js';

const rows = (k: number, dim: number, seed: number) =>
  Array.from({ length: k }, (_, i) => randomFloats(dim, seed * 1000 + i));

describe('robust aggregation: bad input', () => {
  const u = rows(3, 5, 1);
  it('rejects wrong types, lengths and trims', () => {
    expect(() => coordinateMedian([new Float64Array(5)] as never)).toThrow(
      /^updates\[0\] must be a Float32Array, received Float64Array\(5\)/,
    );
    expect(() => coordinateMedian([])).toThrow(/updates.length must be positive/);
    expect(() => coordinateMedian([u[0]!, new Float32Array(4)])).toThrow(
      /updates\[1\].length must be 5 like updates\[0\], received 4/,
    );
    expect(() => coordinateMedian(new Float32Array(10))).toThrow(/count must be given/);
    expect(() => coordinateMedian(new Float32Array(10), { count: 3 })).toThrow(/multiple of count \(3\)/);
    expect(() => trimmedMean(u, { trim: 2 })).toThrow(/options.trim must be less than half the updates \(3\)/);
    expect(() => trimmedMean(u, { trim: 0.5 })).toThrow(RangeError);
    expect(() => trimmedMean(u, { out: new Float32Array(4) })).toThrow(/options.out.length must be 5, received 4/);
  });
  it('refuses a NaN/Inf update naming the first one (sync and async)', async () => {
    const bad = rows(5, 3000, 2);
    bad[3]![10] = Infinity;
    bad[1]![2999] = NaN;
    expect(() => coordinateMedian(bad)).toThrow('updates[1] must contain only finite values');
    expect(() => trimmedMean(bad, { trim: 1 })).toThrow('updates[1] must contain only finite values');
    await expect(coordinateMedianAsync(bad)).rejects.toMatchObject({ code: 'ERR_DPFL_NON_FINITE', index: 1 });
    await expect(trimmedMeanAsync(bad)).rejects.toThrow(RangeError);
  });
});

describe('robust aggregation against the float64 reference', () => {
  const shapes: Array<[number, number]> = [
    [1, 1],
    [2, 19],
    [3, 111],
    [10, 989],
    [101, 300],
    [1200, 20],
  ];
  for (const [k, dim] of shapes) {
    it(`median and trimmed mean of ${k} x ${dim}`, async () => {
      const u = rows(k, dim, k + dim);
      expect(firstMismatch(coordinateMedian(u), medianRef(u), TOL.sum)).toBe(-1);
      const t = Math.floor(k / 5);
      expect(firstMismatch(trimmedMean(u, { trim: t === 0 ? 0 : t }), trimmedMeanRef(u, t), TOL.sum)).toBe(-1);
      // One K x D matrix with a subarray offset, and the async form, give the same numbers.
      const big = new Float32Array(k * dim + 3);
      u.forEach((r, i) => big.set(r, 3 + i * dim));
      const m = big.subarray(3);
      const out = new Float32Array(dim);
      expect(await coordinateMedianAsync(m, { count: k, out })).toBe(out);
      expect(Array.from(out)).toEqual(Array.from(coordinateMedian(u)));
      expect(Array.from(await trimmedMeanAsync(m, { count: k, trim: t }))).toEqual(
        Array.from(trimmedMean(u, { trim: t })),
      );
    });
  }
  it('tolerates Byzantine rows that ruin the mean', () => {
    const honest = rows(8, 50, 7);
    const evil = Array.from({ length: 3 }, () => new Float32Array(50).fill(1e8));
    const all = [...honest, ...evil];
    const med = coordinateMedian(all);
    const tm = trimmedMean(all, { trim: 3 });
    for (let d = 0; d < 50; d++) {
      const col = honest.map((r) => r[d]!);
      expect(med[d]!).toBeLessThanOrEqual(Math.max(...col));
      expect(tm[d]!).toBeLessThanOrEqual(Math.max(...col));
      expect(tm[d]!).toBeGreaterThanOrEqual(Math.min(...col));
    }
  });
});

describe('secure-aggregation arithmetic', () => {
  it('quantises with round half to even, two’s complement, and refuses out-of-range values untouched', () => {
    const q = quantizeFixed(new Float32Array([0, 0.5, -0.5, 2.5 / 1024, -3]), 1024);
    expect(Array.from(q)).toEqual([0, 512, 2 ** 32 - 512, 2, 2 ** 32 - 3072]);
    expect(Array.from(dequantizeFixed(q, 1024))).toEqual([0, 0.5, -0.5, 2 / 1024, -3]);
    const out = new Uint32Array(3).fill(9);
    expect(() => quantizeFixed(new Float32Array([1, NaN, 1]), 1024, { out })).toThrow(/^x\[1\] must be finite/);
    expect(() => quantizeFixed(new Float32Array([1, 1, 2 ** 21]), 1024, { out })).toThrow(
      /^x\[2\] must be finite with \|round\(x \* scale\)\| < 2\^31/,
    );
    expect(Array.from(out)).toEqual([9, 9, 9]);
    expect(() => quantizeFixed(new Float32Array(2), 0)).toThrow(/scale must be a positive finite number/);
    expect(() => dequantizeFixed(new Int32Array(2) as never, 1)).toThrow(/q must be a Uint32Array/);
  });
  it('expands masks exactly as a ChaCha20 reference and removes them again', () => {
    const key = Uint32Array.from([
      0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c, 0x13121110, 0x17161514, 0x1b1a1918, 0x1f1e1d1c,
    ]);
    const x = new Uint32Array(70001).fill(11);
    applyMask(x, key, { stream: 5n });
    for (const i of [0, 1, 15, 16, 65536, 70000]) expect(x[i]).toBe((11 + chachaWord(key, 5n, i)) >>> 0);
    applyMask(x, key, { stream: 5n, subtract: true });
    expect(x.every((v) => v === 11)).toBe(true);
    expect(() => applyMask(x, new Uint32Array(4))).toThrow(/key.length must be 8/);
    expect(() => applyMask(x, key, { stream: -1n })).toThrow(/options.stream must be in \[0, 2\^64\)/);
  });
  it('sums modulo 2^32 and refuses aliasing out with a later vector', () => {
    const a = Uint32Array.from([2 ** 32 - 1, 5]);
    const b = Uint32Array.from([2, 2 ** 32 - 6]);
    expect(Array.from(sumMod([a, b]))).toEqual([1, 2 ** 32 - 1]);
    expect(() => sumMod([a, b], { out: b })).toThrow(/vectors\[1\] must be a different array/);
    expect(() => sumMod([a, new Uint32Array(3)])).toThrow(/vectors\[1\].length must be 2 like vectors\[0\]/);
  });
});
