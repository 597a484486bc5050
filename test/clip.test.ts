import { describe, expect, it } from 'vitest';
import { clipAndSum, clipAndSumAsync, clipByNorm, perSampleNorms } from '../src/index.js';
import { clipAndSumRef, randomFloats } from './reference/kernels.js';
import { firstMismatch, TOL } from './tolerances.js';

function expectCode(fn: () => unknown, type: typeof TypeError | typeof RangeError, code: string, message: RegExp) {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(type);
  expect((thrown as { code?: string }).code).toBe(code);
  expect((thrown as Error).message).toMatch(message);
}

describe('clipping: bad input', () => {
  const g = new Float32Array(12);
  it('rejects wrong types with TypeError naming the argument', () => {
    expectCode(
      () => clipAndSum(new Float64Array(12) as never, 3, 1),
      TypeError,
      'ERR_DPFL_INVALID_TYPE',
      /^grads must be a Float32Array, received Float64Array\(12\)/,
    );
    expectCode(
      () => clipAndSum([1, 2] as never, 1, 1),
      TypeError,
      'ERR_DPFL_INVALID_TYPE',
      /grads\[0\] must be a Float32Array, received 1/,
    );
    expectCode(
      () => clipAndSum(g, '3' as never, 1),
      TypeError,
      'ERR_DPFL_INVALID_TYPE',
      /batchSize must be a positive integer, received "3"/,
    );
    expectCode(
      () => perSampleNorms(new Int32Array(4) as never, 1),
      TypeError,
      'ERR_DPFL_INVALID_TYPE',
      /grads must be a Float32Array/,
    );
    expectCode(
      () => clipByNorm(new Float64Array(3) as never, 1),
      TypeError,
      'ERR_DPFL_INVALID_TYPE',
      /x must be a Float32Array/,
    );
  });
  it('rejects lengths that do not match B×D, and B or D of zero', () => {
    expectCode(
      () => clipAndSum(g, 5, 1),
      RangeError,
      'ERR_DPFL_INVALID_ARGUMENT',
      /grads.length must be a multiple of batchSize \(5\), received 12/,
    );
    expectCode(
      () => clipAndSum(g, 0, 1),
      RangeError,
      'ERR_DPFL_INVALID_ARGUMENT',
      /batchSize must be a positive integer, received 0/,
    );
    expectCode(
      () => clipAndSum(new Float32Array(0), 1, 1),
      RangeError,
      'ERR_DPFL_INVALID_ARGUMENT',
      /grads.length must be positive, received 0/,
    );
    expectCode(
      () => clipAndSum(g, 2.5, 1),
      RangeError,
      'ERR_DPFL_INVALID_ARGUMENT',
      /batchSize must be a positive integer, received 2.5/,
    );
    expectCode(
      () => clipAndSum(g, 3, 1, { out: new Float32Array(3) }),
      RangeError,
      'ERR_DPFL_INVALID_ARGUMENT',
      /options.out.length must be 4, received 3/,
    );
    expectCode(
      () => clipAndSum(g, 3, 1, { norms: new Float32Array(4) }),
      RangeError,
      'ERR_DPFL_INVALID_ARGUMENT',
      /options.norms.length must be 3, received 4/,
    );
  });
  it('rejects negative, zero, NaN and infinite max norms', () => {
    for (const c of [-1, 0, NaN, Infinity]) {
      expectCode(
        () => clipAndSum(g, 3, c),
        RangeError,
        'ERR_DPFL_INVALID_ARGUMENT',
        /^maxNorm must be a positive finite number/,
      );
      expectCode(() => clipByNorm(new Float32Array(2), c), RangeError, 'ERR_DPFL_INVALID_ARGUMENT', /^maxNorm must be/);
    }
    expectCode(
      () => clipAndSum(g, 3, 1, { groups: [2, 4], maxNorms: [1, -2] }),
      RangeError,
      'ERR_DPFL_INVALID_ARGUMENT',
      /options.maxNorms\[1\] must be a positive finite number, received -2/,
    );
  });
  it('rejects malformed groups', () => {
    expectCode(
      () => clipAndSum(g, 3, 1, { groups: [2, 3] }),
      RangeError,
      'ERR_DPFL_INVALID_ARGUMENT',
      /options.groups\[1\] must be the row length 4, received 3/,
    );
    expectCode(
      () => clipAndSum(g, 3, 1, { groups: [2, 2, 4] }),
      RangeError,
      'ERR_DPFL_INVALID_ARGUMENT',
      /options.groups\[1\] must be an integer greater than 2/,
    );
    expectCode(
      () => clipAndSum(g, 3, 1, { groups: [] }),
      RangeError,
      'ERR_DPFL_INVALID_ARGUMENT',
      /options.groups.length must be positive/,
    );
    expectCode(
      () => clipAndSum(g, 3, 1, { groups: [4], maxNorms: [1, 2] }),
      RangeError,
      'ERR_DPFL_INVALID_ARGUMENT',
      /options.maxNorms.length must be the number of groups \(1\)/,
    );
    expectCode(
      () => clipAndSum(g, 3, 1, { maxNorms: [1] }),
      RangeError,
      'ERR_DPFL_INVALID_ARGUMENT',
      /options.maxNorms must be given together with options.groups/,
    );
  });
  it('rejects a detached (transferred) buffer', () => {
    const buf = new ArrayBuffer(16);
    const view = new Float32Array(buf);
    structuredClone(buf, { transfer: [buf] });
    expectCode(
      () => clipAndSum(view, 1, 1),
      TypeError,
      'ERR_DPFL_INVALID_TYPE',
      /grads must be an attached Float32Array/,
    );
    expectCode(() => clipByNorm(view, 1), TypeError, 'ERR_DPFL_INVALID_TYPE', /x must be an attached Float32Array/);
  });
  it('async forms reject instead of throwing', async () => {
    await expect(clipAndSumAsync(g, 5, 1)).rejects.toThrow(/grads.length must be a multiple of batchSize/);
  });
});

describe('clipAndSum against the float64 reference', () => {
  const shapes: Array<[number, number]> = [
    [1, 1],
    [1, 19],
    [3, 111],
    [19, 989],
    [7, 2049],
    [32, 1000],
  ];
  for (const [batch, dim] of shapes) {
    for (const maxNorm of [0.1, 1, 50]) {
      it(`B=${batch} D=${dim} C=${maxNorm}`, () => {
        const g = randomFloats(batch * dim, batch * 1000 + dim, 0.1);
        if (batch > 2) g.fill(0, dim, 2 * dim); // a zero row
        const ref = clipAndSumRef(g, batch, [maxNorm]);
        const r = clipAndSum(g, batch, maxNorm);
        expect(firstMismatch(r.sum, ref.sum, TOL.sum)).toBe(-1);
        expect(firstMismatch(r.norms, ref.norms, TOL.norm)).toBe(-1);
        expect(r.clipped).toBe(ref.clipped);
        expect(r.nonFinite).toBe(0);
        expect(r.groupNorms).toBeUndefined();
        expect(firstMismatch(perSampleNorms(g, batch), ref.norms, TOL.norm)).toBe(-1);
      });
    }
  }

  it('per-layer clipping with groups (including size-1 groups and one threshold per group)', () => {
    const batch = 6;
    const ends = [1, 2, 500, 2049, 2050, 3000];
    const maxNorms = [0.01, 0.5, 0.3, 2, 0.05, 1];
    const g = randomFloats(batch * 3000, 77, 0.05);
    const ref = clipAndSumRef(g, batch, maxNorms, ends);
    const r = clipAndSum(g, batch, 1, { groups: ends, maxNorms });
    expect(firstMismatch(r.sum, ref.sum, TOL.sum)).toBe(-1);
    expect(firstMismatch(r.groupNorms!, ref.groupNorms, TOL.norm)).toBe(-1);
    expect(r.clipped).toBe(ref.clipped);
    expect(firstMismatch(perSampleNorms(g, batch, { groups: ends }), ref.groupNorms, TOL.norm)).toBe(-1);
    // Without maxNorms every group gets the flat threshold.
    const same = clipAndSum(g, batch, 0.2, { groups: ends });
    expect(
      firstMismatch(
        same.sum,
        clipAndSumRef(
          g,
          batch,
          ends.map(() => 0.2),
          ends,
        ).sum,
        TOL.sum,
      ),
    ).toBe(-1);
  });

  it('clipped sums respect the bound: each clipped row contributes norm ≤ C', () => {
    const g = randomFloats(1 * 500, 5, 1); // one row of norm ~22
    const r = clipAndSum(g, 1, 1);
    const n = Math.hypot(...r.sum);
    expect(n).toBeLessThanOrEqual(1);
    expect(n).toBeGreaterThan(0.9999);
    expect(r.clipped).toBe(1);
  });

  it('honours subarray views with a byte offset and caller-provided outputs', () => {
    const backing = randomFloats(5 + 4 * 33, 9, 0.3);
    const g = backing.subarray(5, 5 + 4 * 33);
    const outBacking = new Float32Array(40).fill(-1);
    const out = outBacking.subarray(3, 36);
    const norms = new Float32Array(4);
    const r = clipAndSum(g, 4, 0.5, { out, norms });
    expect(r.sum).toBe(out);
    expect(r.norms).toBe(norms);
    expect(outBacking[2]).toBe(-1);
    expect(outBacking[36]).toBe(-1);
    const ref = clipAndSumRef(Array.from(g), 4, [0.5]);
    expect(firstMismatch(out, ref.sum, TOL.sum)).toBe(-1);
    expect(firstMismatch(norms, ref.norms, TOL.norm)).toBe(-1);
  });

  it('NaN/Inf rows contribute zero to the sum and are counted (the documented policy)', () => {
    const batch = 5;
    const dim = 7;
    const g = randomFloats(batch * dim, 3, 0.1);
    g[1 * dim + 2] = NaN;
    g[4 * dim] = -Infinity;
    const r = clipAndSum(g, batch, 1);
    expect(r.nonFinite).toBe(2);
    expect(r.sum.every(Number.isFinite)).toBe(true);
    const clean = g.slice();
    clean.fill(0, 1 * dim, 2 * dim);
    clean.fill(0, 4 * dim, 5 * dim);
    expect(firstMismatch(r.sum, clipAndSumRef(clean, batch, [1]).sum, TOL.sum)).toBe(-1);
    expect(Number.isNaN(r.norms[1])).toBe(true);
  });

  it('async gives the same result as sync, bit for bit', async () => {
    const g = randomFloats(16 * 3001, 11, 0.2);
    const sync = clipAndSum(g, 16, 0.7, { groups: [1000, 3001], maxNorms: [0.5, 0.5] });
    const asyncResult = await clipAndSumAsync(g, 16, 0.7, { groups: [1000, 3001], maxNorms: [0.5, 0.5] });
    expect(Buffer.from(asyncResult.sum.buffer).equals(Buffer.from(sync.sum.buffer))).toBe(true);
    expect(asyncResult.norms).toEqual(sync.norms);
    expect(asyncResult.groupNorms).toEqual(sync.groupNorms);
    expect(asyncResult.clipped).toBe(sync.clipped);
  });
});

describe('clipByNorm', () => {
  it('scales in place to the bound and reports norm and scale', () => {
    const x = new Float32Array([3, 4]);
    const r = clipByNorm(x, 1);
    expect(r.norm).toBeCloseTo(5, 12);
    expect(r.scale).toBeCloseTo(1 / (5 + 1e-6), 12);
    expect(Math.hypot(x[0]!, x[1]!)).toBeLessThanOrEqual(1);
    const y = new Float32Array([0.3, 0.4]);
    expect(clipByNorm(y, 1).scale).toBe(1);
    expect(y).toEqual(new Float32Array([0.3, 0.4]));
  });
  it('refuses NaN/Inf without modifying x', () => {
    const x = new Float32Array([5, NaN, 5]);
    expect(() => clipByNorm(x, 1)).toThrow(RangeError);
    expect(x[0]).toBe(5);
  });
});
