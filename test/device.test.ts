import { describe, expect, it } from 'vitest';
import { DeviceArray, addGaussianNoise, clipAndSum, clipByNorm, cudaInfo, weightedSum } from '../src/index.js';
import { clipAndSumRef, randomFloats, weightedSumRef } from './reference/kernels.js';
import { firstMismatch, TOL } from './tolerances.js';

const cuda = cudaInfo();
const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

describe('CUDA backend availability', () => {
  it('cudaInfo says whether the backend can run, and why not', () => {
    expect(typeof cuda.available).toBe('boolean');
    if (cuda.available) {
      expect(cuda.device).toBeTypeOf('string');
    } else {
      expect(cuda.reason).toMatch(/CUDA/);
      console.warn(`device tests skipped: ${cuda.reason}`);
    }
  });
  it.skipIf(cuda.available)('asking for device memory without a usable backend is a clear error', () => {
    let err: unknown;
    try {
      new DeviceArray(4);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('ERR_DPFL_CUDA_UNAVAILABLE');
    expect((err as Error).message).toContain(cuda.reason!);
  });
});

describe.skipIf(!cuda.available)('kernels on device memory', () => {
  it('upload and download round-trip; free is explicit', () => {
    const x = randomFloats(1001, 1);
    const d = DeviceArray.from(x);
    expect(d.length).toBe(1001);
    expect(d.download()).toEqual(x);
    d.free();
    expect(d.freed).toBe(true);
    expect(() => d.download()).toThrow(/freed/);
  });
  it('clipAndSum on device matches the float64 reference; outputs stay on the device', () => {
    const g = randomFloats(19 * 2049, 2, 0.1);
    const r = clipAndSum(DeviceArray.from(g), 19, 0.5, { groups: [7, 2049], maxNorms: [0.1, 0.4] });
    const ref = clipAndSumRef(g, 19, [0.1, 0.4], [7, 2049]);
    expect(r.sum).toBeInstanceOf(DeviceArray);
    expect(firstMismatch(r.sum.download(), ref.sum, TOL.sum)).toBe(-1);
    expect(firstMismatch(r.norms.download(), ref.norms, TOL.norm)).toBe(-1);
    expect(r.clipped).toBe(ref.clipped);
  });
  it('noise on device is bit-identical to the CPU for the same (seed, stream, offset)', () => {
    for (const offset of [0, 1, 3, 1001]) {
      const host = addGaussianNoise(new Float32Array(10_007), 1.3, { seed: 99n, stream: 4, offset });
      const dev = addGaussianNoise(DeviceArray.from(new Float32Array(10_007)), 1.3, { seed: 99n, stream: 4, offset });
      expect(bits(dev.download()).equals(bits(host))).toBe(true);
    }
  });
  it('a whole DP step stays on the device', () => {
    const g = DeviceArray.from(randomFloats(64 * 5000, 3, 0.05));
    const { sum } = clipAndSum(g, 64, 1);
    addGaussianNoise(sum, 1.1);
    expect(sum.download().every(Number.isFinite)).toBe(true);
  });
  it('weightedSum and clipByNorm on device match the host', () => {
    const u = [randomFloats(3000, 4), randomFloats(3000, 5), randomFloats(3000, 6)];
    const out = weightedSum(
      u.map((x) => DeviceArray.from(x)),
      [1, 2, 3],
      { normalize: true },
    );
    expect(firstMismatch(out.download(), weightedSumRef(u, [1, 2, 3], true), TOL.sum)).toBe(-1);
    const x = DeviceArray.from(new Float32Array([3, 4]));
    expect(clipByNorm(x, 1).norm).toBeCloseTo(5, 5);
  });
  it('mixing host and device arrays is an error that says so', () => {
    const d = DeviceArray.from(new Float32Array(8));
    expect(() => clipAndSum(d, 2, 1, { out: new Float32Array(4) as never })).toThrow(/mixing host and device arrays/);
    expect(() => weightedSum([d, new Float32Array(8)] as never, [1, 1])).toThrow(/mixing host and device arrays/);
  });
});
