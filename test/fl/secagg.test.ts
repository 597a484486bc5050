import { describe, expect, it } from 'vitest';
import { dequantizeFixed, sumMod } from '../../src/kernels/fl.js';
import { SecureAggregation, fixedPointScale } from '../../src/fl/secagg.js';
import { randomFloats } from '../reference/kernels.js';

/** Chi-square statistic of the top byte of 32-bit words against the uniform distribution. */
function chiSquareTopByte(words: Uint32Array): number {
  const counts = new Array<number>(256).fill(0);
  for (const w of words) counts[w >>> 24]! += 1;
  const e = words.length / 256;
  return counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
}

// χ²(255) has mean 255 and sd √510 ≈ 22.6: 255 + 5 sd ≈ 368 is exceeded with probability < 1e-6.
const CHI2_LIMIT = 368;

describe('secure aggregation (simulated protocol arithmetic)', () => {
  const D = 1 << 16;
  const clients = [3, 5, 8, 13, 21];
  // Norms ≈ 0.003·√D ≈ 0.77, inside the bound 1, so clipping leaves them unchanged.
  const inputs = new Map(clients.map((u) => [u, randomFloats(D, u).map((v) => v * 0.003)]));

  it('a single masked update is indistinguishable from uniform; its plain encoding is not', () => {
    const sa = new SecureAggregation(clients, D, 1, 'test-seed');
    const masked = sa.mask(5, inputs.get(5)!);
    expect(chiSquareTopByte(masked)).toBeLessThan(CHI2_LIMIT);
    expect(chiSquareTopByte(sa.encode(inputs.get(5)!))).toBeGreaterThan(100 * CHI2_LIMIT);
    // Masked words are uncorrelated with the plain encoding (as signed values): |r| < 5/√D.
    const plain = new Int32Array(sa.encode(inputs.get(5)!).buffer);
    const m = new Int32Array(masked.buffer);
    const mean = (a: Int32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const mp = mean(plain),
      mm = mean(m);
    let sxy = 0,
      sxx = 0,
      syy = 0;
    for (let i = 0; i < D; i++) {
      sxy += (plain[i]! - mp) * (m[i]! - mm);
      sxx += (plain[i]! - mp) ** 2;
      syy += (m[i]! - mm) ** 2;
    }
    expect(Math.abs(sxy / Math.sqrt(sxx * syy))).toBeLessThan(5 / Math.sqrt(D));
  });

  it('the unmasked sum equals the plain quantised sum exactly, with and without dropouts', () => {
    const sa = new SecureAggregation(clients, D, 1, 'seed-2');
    for (const dropped of [[], [8], [3, 21]]) {
      const survivors = clients.filter((u) => !dropped.includes(u));
      const messages = new Map(survivors.map((u) => [u, sa.mask(u, inputs.get(u)!)]));
      const { sum, dropped: d } = sa.unmask(messages);
      expect(d).toEqual(dropped);
      const plain = dequantizeFixed(sumMod(survivors.map((u) => sa.encode(inputs.get(u)!))), sa.scale);
      expect(Array.from(sum)).toEqual(Array.from(plain));
      // And it is the float sum up to the encoding error (½ / scale per client).
      for (let i = 0; i < D; i += 997) {
        const f = survivors.reduce((s, u) => s + inputs.get(u)![i]!, 0);
        expect(Math.abs(sum[i]! - f)).toBeLessThanOrEqual((survivors.length * 0.5) / sa.scale + 1e-7 * Math.abs(f));
      }
    }
  });

  it('clips inputs to the bound, so the fixed-point sum cannot overflow', () => {
    expect(fixedPointScale(5, 1) * 5 * 1 + 5).toBeLessThan(2 ** 31);
    expect(fixedPointScale(5, 1) * 2 * 5).toBeGreaterThanOrEqual(2 ** 31 - 5 - 2 ** 20);
    const sa = new SecureAggregation([1, 2], 4, 1, 's');
    const big = new Float32Array([100, 0, 0, 0]);
    const { sum } = sa.unmask(
      new Map([
        [1, sa.mask(1, big)],
        [2, sa.mask(2, new Float32Array(4))],
      ]),
    );
    expect(sum[0]).toBeCloseTo(1, 6);
  });

  it('rejects messages from non-participants and bad shapes', () => {
    const sa = new SecureAggregation([1, 2, 3], 8, 1, 's');
    expect(() => sa.mask(4, new Float32Array(8))).toThrow(/client must be a participant/);
    expect(() => sa.mask(1, new Float32Array(7))).toThrow(/x.length must be 8/);
    expect(() => sa.unmask(new Map([[9, new Uint32Array(8)]]))).toThrow(/from participants only/);
    expect(() => new SecureAggregation([1, 1], 8, 1)).toThrow(/at least two distinct ids/);
  });
});
