import { describe, expect, it } from 'vitest';
import { addGaussianNoise, addGaussianNoiseAsync } from '../src/index.js';
import { philoxNormal, philox4x32_10 } from './reference/philox.js';
import { correlation, ksStatistic, meanAndVariance } from './reference/stats.js';
import { close, TOL } from './tolerances.js';

const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

describe('noise: bad input', () => {
  it('rejects wrong types and bad std with errors naming the argument', () => {
    expect(() => addGaussianNoise(new Float64Array(3) as never, 1, { seed: 1 })).toThrow(
      /^x must be a Float32Array, received Float64Array\(3\)/,
    );
    for (const std of [-1, NaN, Infinity]) {
      expect(() => addGaussianNoise(new Float32Array(3), std, { seed: 1 })).toThrow(RangeError);
      expect(() => addGaussianNoise(new Float32Array(3), std, { seed: 1 })).toThrow(
        /^std must be a non-negative finite number/,
      );
    }
    expect(() => addGaussianNoise(new Float32Array(3), 1, { seed: -1 })).toThrow(
      /options.seed must be a non-negative integer, received -1/,
    );
    expect(() => addGaussianNoise(new Float32Array(3), 1, { seed: 1n << 64n })).toThrow(
      /options.seed must be an integer in \[0, 2\^64\)/,
    );
    expect(() => addGaussianNoise(new Float32Array(3), 1, { seed: 1, offset: 0.5 })).toThrow(
      /options.offset must be a non-negative integer, received 0.5/,
    );
    expect(() => addGaussianNoise(new Float32Array(3), 1, { seed: 1, stream: 'a' as never })).toThrow(TypeError);
  });
  it('secure mode refuses a user-supplied seed; reproducible mode needs one', () => {
    expect(() => addGaussianNoise(new Float32Array(3), 1, { secure: true, seed: 5 })).toThrow(
      /options.seed must be absent in secure mode/,
    );
    expect(() => addGaussianNoise(new Float32Array(3), 1, { secure: false })).toThrow(
      /options.seed must be given when options.secure is false/,
    );
  });
  it('refuses NaN/Inf in x before writing anything', () => {
    const x = new Float32Array([1, 2, NaN, 4]);
    expect(() => addGaussianNoise(x, 1, { seed: 3 })).toThrow(/x must contain only finite values/);
    expect(Array.from(x.subarray(0, 2))).toEqual([1, 2]);
    expect(x[3]).toBe(4);
  });
  it('rejects a detached buffer', () => {
    const buf = new ArrayBuffer(8);
    const x = new Float32Array(buf);
    structuredClone(buf, { transfer: [buf] });
    expect(() => addGaussianNoise(x, 1, { seed: 1 })).toThrow(/x must be an attached Float32Array/);
  });
});

describe('reproducible mode (Philox4x32-10)', () => {
  it('the TypeScript Philox reference matches the Random123 known answer', () => {
    expect(philox4x32_10([0, 0, 0, 0], 0, 0)).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  });
  it('matches an independent TypeScript computation of the stream', () => {
    const seed = 0x0123456789abcdefn;
    const stream = 5n;
    const x = addGaussianNoise(new Float32Array(257), 1, { seed, stream, offset: 1001 });
    for (let i = 0; i < x.length; i++) {
      expect(close(x[i]!, philoxNormal(seed, stream, 1001 + i), TOL.noise)).toBe(true);
    }
  });
  it('returns x, adds in place, scales by std', () => {
    const x = new Float32Array(64).fill(10);
    expect(addGaussianNoise(x, 0.5, { seed: 8 })).toBe(x);
    const z = addGaussianNoise(new Float32Array(64), 1, { seed: 8 });
    for (let i = 0; i < 64; i++) expect(close(x[i]! - 10, 0.5 * z[i]!, { rtol: 1e-5, atol: 2e-6 })).toBe(true);
  });
  it('is bit-identical for any chunking (subarray views with offsets) and across sync/async', async () => {
    const n = 10_007;
    const whole = addGaussianNoise(new Float32Array(n), 2, { seed: 99n, stream: 3 });
    const pieces = new Float32Array(n);
    let at = 0;
    let len = 1;
    while (at < n) {
      const l = Math.min(len, n - at);
      addGaussianNoise(pieces.subarray(at, at + l), 2, { seed: 99n, stream: 3, offset: at });
      at += l;
      len = (len * 7 + 3) % 1013;
    }
    expect(bits(pieces).equals(bits(whole))).toBe(true);
    const viaAsync = await addGaussianNoiseAsync(new Float32Array(n), 2, { seed: 99n, stream: 3 });
    expect(bits(viaAsync).equals(bits(whole))).toBe(true);
    // Seeds given as number or bigint name the same key.
    expect(bits(addGaussianNoise(new Float32Array(n), 2, { seed: 99, stream: 3n })).equals(bits(whole))).toBe(true);
  });
  it('passes a Kolmogorov–Smirnov test against N(0, σ²) on 1e6 samples (fixed seed)', () => {
    const std = 1.7;
    const x = addGaussianNoise(new Float32Array(1_000_000), std, { seed: 20261124 });
    // Critical value at α = 0.01: 1.628 / sqrt(n).
    expect(ksStatistic(x, std)).toBeLessThan(1.628 / 1000);
    const { mean, variance } = meanAndVariance(x);
    expect(Math.abs(mean)).toBeLessThan((5 * std) / 1000);
    expect(Math.abs(variance / (std * std) - 1)).toBeLessThan((5 * Math.SQRT2) / 1000);
  });
  it('shows no correlation between streams, seeds or adjacent offsets', () => {
    const n = 200_000;
    const a = addGaussianNoise(new Float32Array(n), 1, { seed: 7, stream: 0 });
    const b = addGaussianNoise(new Float32Array(n), 1, { seed: 7, stream: 1 });
    const c = addGaussianNoise(new Float32Array(n), 1, { seed: 8, stream: 0 });
    const bound = 5 / Math.sqrt(n); // five standard errors of a correlation under independence
    expect(Math.abs(correlation(a, b))).toBeLessThan(bound);
    expect(Math.abs(correlation(a, c))).toBeLessThan(bound);
    // Lag 1 and lag 2 within one stream (lag 1 includes the cos/sin pairs of one Box–Muller draw).
    expect(Math.abs(correlation(a.subarray(0, n - 1), a.subarray(1)))).toBeLessThan(bound);
    expect(Math.abs(correlation(a.subarray(0, n - 2), a.subarray(2)))).toBeLessThan(bound);
    // Squares too: cos/sin pairs share a radius, so dependence would show in the magnitudes.
    const sq = a.map((v) => v * v);
    expect(Math.abs(correlation(sq.subarray(0, n - 1), sq.subarray(1)))).toBeLessThan(bound);
  });
  it('std 0 leaves x unchanged; empty x is fine', () => {
    const x = new Float32Array([1, 2, 3]);
    addGaussianNoise(x, 0, { seed: 1 });
    expect(Array.from(x)).toEqual([1, 2, 3]);
    expect(addGaussianNoise(new Float32Array(0), 1, { seed: 1 }).length).toBe(0);
  });
});

describe('secure mode (ChaCha20 + OS CSPRNG + Holohan–Braghin sampler)', () => {
  it('is the default without a seed, and differs call to call', () => {
    const a = addGaussianNoise(new Float32Array(1000), 1);
    const b = addGaussianNoise(new Float32Array(1000), 1, { secure: true });
    expect(bits(a).equals(bits(b))).toBe(false);
    expect(Math.abs(correlation(a, b))).toBeLessThan(5 / Math.sqrt(1000));
  });
  it('passes a Kolmogorov–Smirnov test on 1e6 samples and has the right moments', async () => {
    const std = 0.8;
    const x = await addGaussianNoiseAsync(new Float32Array(1_000_000), std);
    // Fresh keys each run: α = 1e-4 (critical value 2.146/sqrt(n)) keeps the false-failure rate negligible.
    expect(ksStatistic(x, std)).toBeLessThan(2.146 / 1000);
    const { mean, variance } = meanAndVariance(x);
    expect(Math.abs(mean)).toBeLessThan((6 * std) / 1000);
    expect(Math.abs(variance / (std * std) - 1)).toBeLessThan((6 * Math.SQRT2) / 1000);
  });
});
