// perSampleNorms / clipAndSum over per-variable blocks (issue 15): the same results as the
// interleaved B x D matrix built here, and as the float64 reference.
import { describe, expect, it } from 'vitest';
import { clipAndSum, clipAndSumAsync, perSampleNorms } from '../src/index.js';
import { clipAndSumRef, randomFloats } from './reference/kernels.js';
import { firstMismatch, TOL } from './tolerances.js';

function makeBlocks(batch: number, widths: number[], seed: number): Float32Array[] {
  return widths.map((n, k) => randomFloats(batch * n, seed + k, 0.5));
}

/** Example i's row: block 0's row i, then block 1's, ... (the copy the block kernels avoid). */
function interleave(blocks: Float32Array[], batch: number): Float32Array {
  const widths = blocks.map((b) => b.length / batch);
  const dim = widths.reduce((a, n) => a + n, 0);
  const m = new Float32Array(batch * dim);
  for (let i = 0; i < batch; i++) {
    let offset = i * dim;
    blocks.forEach((b, k) => {
      m.set(b.subarray(i * widths[k]!, (i + 1) * widths[k]!), offset);
      offset += widths[k]!;
    });
  }
  return m;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function expectCode(fn: () => unknown, code: string, message: RegExp) {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect((thrown as { code?: string }).code).toBe(code);
  expect((thrown as Error).message).toMatch(message);
}

const SHAPES: [string, number, number[]][] = [
  ['784→128→10 MLP', 6, [784 * 128, 128, 128 * 10, 10]],
  ['a block with n_k = 0', 5, [7, 0, 3, 12]],
  ['one block', 4, [33]],
  ['1000 blocks of size 1', 3, Array(1000).fill(1)],
];

describe('clipping over per-variable blocks', () => {
  for (const [what, batch, widths] of SHAPES) {
    it(`${what}: bit-identical to the interleaved matrix, within tolerance of float64`, async () => {
      const blocks = makeBlocks(batch, widths, 7);
      const matrix = interleave(blocks, batch);
      const norms = perSampleNorms(blocks, batch);
      expect(norms).toEqual(perSampleNorms(matrix, batch));
      const c = (0.8 * norms.reduce((a, x) => a + x, 0)) / batch; // some rows clipped, some not
      const viaMatrix = clipAndSum(matrix, batch, c);
      const viaBlocks = clipAndSum(blocks, batch, c);
      expect(viaBlocks.sum.map((s) => s.length)).toEqual(widths);
      expect(concat(viaBlocks.sum)).toEqual(viaMatrix.sum);
      expect(viaBlocks.norms).toEqual(viaMatrix.norms);
      expect([viaBlocks.clipped, viaBlocks.nonFinite]).toEqual([viaMatrix.clipped, viaMatrix.nonFinite]);
      expect(viaBlocks.clipped).toBeGreaterThan(0);
      const ref = clipAndSumRef(matrix, batch, [c]);
      expect(firstMismatch(concat(viaBlocks.sum), ref.sum, TOL.sum)).toBe(-1);
      expect(firstMismatch(viaBlocks.norms, ref.norms, TOL.norm)).toBe(-1);
      const later = await clipAndSumAsync(blocks, batch, c);
      expect(concat(later.sum)).toEqual(viaMatrix.sum);
      expect(later.norms).toEqual(viaMatrix.norms);
    });
  }

  it('writes into the given out blocks and norms', () => {
    const blocks = makeBlocks(4, [3, 2], 1);
    const out = [new Float32Array(3), new Float32Array(2)];
    const norms = new Float32Array(4);
    const r = clipAndSum(blocks, 4, 0.5, { out, norms });
    expect(r.sum[0]).toBe(out[0]);
    expect(r.sum[1]).toBe(out[1]);
    expect(r.norms).toBe(norms);
    expect(concat(out)).toEqual(clipAndSum(interleave(blocks, 4), 4, 0.5).sum);
    const own = new Float32Array(4);
    expect(perSampleNorms(blocks, 4, { out: own })).toBe(own);
  });

  it('NaN in one block: the example is dropped from every block and counted, as in the matrix', () => {
    const blocks = makeBlocks(4, [5, 3, 2], 3);
    blocks[1]![2 * 3 + 1] = Number.NaN;
    const viaMatrix = clipAndSum(interleave(blocks, 4), 4, 0.5);
    const viaBlocks = clipAndSum(blocks, 4, 0.5);
    expect(viaBlocks.nonFinite).toBe(1);
    expect(Number.isNaN(viaBlocks.norms[2])).toBe(true);
    expect(viaBlocks.norms).toEqual(viaMatrix.norms);
    expect(concat(viaBlocks.sum)).toEqual(viaMatrix.sum);
    expect(concat(viaBlocks.sum).every(Number.isFinite)).toBe(true);
  });

  it('refuses what the matrix path refuses, naming the argument', () => {
    const INVALID = 'ERR_DPFL_INVALID_ARGUMENT';
    const TYPE = 'ERR_DPFL_INVALID_TYPE';
    const blocks = makeBlocks(2, [3, 1], 5);
    // B = 0: refused as for the matrix.
    expectCode(() => clipAndSum(blocks, 0, 1), INVALID, /^batchSize must be a positive integer/);
    expectCode(() => clipAndSum(new Float32Array(4), 0, 1), INVALID, /^batchSize must be a positive integer/);
    expectCode(() => perSampleNorms(blocks, 0), INVALID, /^batchSize must be a positive integer/);
    // Blocks of another batch size.
    expectCode(
      () => clipAndSum([blocks[0]!, new Float32Array(3)], 2, 1),
      INVALID,
      /grads\[1\]\.length must be a multiple of batchSize \(2\), received 3/,
    );
    expectCode(() => perSampleNorms([new Float32Array(5)], 2), INVALID, /grads\[0\]\.length must be a multiple/);
    expectCode(() => clipAndSum([], 2, 1), INVALID, /grads\.length must be positive/);
    expectCode(() => clipAndSum([new Float32Array(0)], 2, 1), INVALID, /grads must be blocks of positive total/);
    expectCode(() => clipAndSum([new Float64Array(4)] as never, 2, 1), TYPE, /grads\[0\] must be a Float32Array/);
    expectCode(() => clipAndSum(blocks, 2, 0), INVALID, /maxNorm must be/);
    expectCode(() => clipAndSum(blocks, 2, 1, { out: [new Float32Array(3)] }), INVALID, /options\.out\.length must/);
    expectCode(
      () => clipAndSum(blocks, 2, 1, { out: [new Float32Array(3), new Float32Array(2)] }),
      INVALID,
      /options\.out\[1\]\.length must be 1/,
    );
    expectCode(() => clipAndSum(blocks, 2, 1, { groups: [4] } as never), INVALID, /options\.groups must be absent/);
  });

  it('refuses a detached (transferred) block', async () => {
    const buf = new ArrayBuffer(16);
    const view = new Float32Array(buf);
    structuredClone(buf, { transfer: [buf] });
    const good = new Float32Array(4);
    const expected = /grads\[1\] must be an attached Float32Array/;
    expectCode(() => clipAndSum([good, view], 2, 1), 'ERR_DPFL_INVALID_TYPE', expected);
    expectCode(() => perSampleNorms([good, view], 2), 'ERR_DPFL_INVALID_TYPE', expected);
    await expect(clipAndSumAsync([good, view], 2, 1)).rejects.toMatchObject({ code: 'ERR_DPFL_INVALID_TYPE' });
  });
});
