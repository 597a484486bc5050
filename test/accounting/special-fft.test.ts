import { describe, expect, it } from 'vitest';
import { erfc, logErfc, logNormalSf, normalCdf } from '../../src/accounting/special.js';
import { fft, irfft, rfft } from '../../src/accounting/fft.js';
import { rng } from './helpers.js';

describe('special functions', () => {
  it('erfc matches reference values to ~1e-15 relative', () => {
    // Values from mpmath at 30 digits (erfc(1) = 0.157299207050285130658779364917…).
    const cases: Array<[number, number]> = [
      [0, 1],
      [0.3, 0.671373240540872583],
      [1, 0.157299207050285131],
      [2, 0.00467773498104726584],
      [3, 2.20904969985854413e-5],
      [5, 1.53745979442803485e-12],
      [10, 2.08848758376254476e-45],
      [-1, 1.84270079294971487],
    ];
    for (const [x, v] of cases) expect(Math.abs(erfc(x) - v) / v).toBeLessThan(5e-15);
  });

  it('log erfc stays finite and matches the asymptotic series where erfc underflows', () => {
    for (const x of [30, 50, 100]) {
      // log erfc(x) = −x² − log(x√π) + log(1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶))
      const series =
        -x * x -
        Math.log(x * Math.sqrt(Math.PI)) +
        Math.log(1 - 1 / (2 * x * x) + 3 / (4 * x ** 4) - 15 / (8 * x ** 6));
      expect(Math.abs(logErfc(x) - series) / Math.abs(series)).toBeLessThan(1e-13);
    }
    expect(logErfc(5)).toBeCloseTo(Math.log(erfc(5)), 13);
    expect(logNormalSf(40)).toBeCloseTo(logErfc(40 / Math.SQRT2) - Math.LN2, 12);
    expect(normalCdf(-37)).toBeGreaterThan(5e-300); // Φ(−37) ≈ 5.7e−300, no premature underflow
  });
});

describe('fft', () => {
  it('rfft equals a naive DFT and irfft inverts it, for every power of two up to 1024', () => {
    const r = rng(1);
    for (let n = 2; n <= 1024; n *= 2) {
      const x = Float64Array.from({ length: n }, () => r());
      const { re, im } = rfft(x);
      for (let k = 0; k <= n / 2; k += Math.max(1, n / 16)) {
        let sr = 0;
        let si = 0;
        for (let j = 0; j < n; j++) {
          sr += (x[j] as number) * Math.cos((2 * Math.PI * j * k) / n);
          si -= (x[j] as number) * Math.sin((2 * Math.PI * j * k) / n);
        }
        expect(Math.abs(sr - (re[k] as number))).toBeLessThan(1e-12 * n);
        expect(Math.abs(si - (im[k] as number))).toBeLessThan(1e-12 * n);
      }
      const y = irfft(re, im, n);
      for (let j = 0; j < n; j++) expect(Math.abs((y[j] as number) - (x[j] as number))).toBeLessThan(1e-14);
    }
  });

  it('circular convolution by FFT equals the direct sum', () => {
    const r = rng(2);
    const n = 64;
    const a = Float64Array.from({ length: n }, () => r());
    const b = Float64Array.from({ length: n }, () => r());
    const A = rfft(a);
    const B = rfft(b);
    const re = A.re.map((v, k) => v * (B.re[k] as number) - (A.im[k] as number) * (B.im[k] as number));
    const im = A.re.map((v, k) => v * (B.im[k] as number) + (A.im[k] as number) * (B.re[k] as number));
    const c = irfft(re, im, n);
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += (a[j] as number) * (b[(k - j + n) % n] as number);
      expect(c[k]).toBeCloseTo(s, 12);
    }
  });

  it('complex fft rejects lengths that are not powers of two', () => {
    expect(() => fft(new Float64Array(6), new Float64Array(6))).toThrow(/power of two/);
  });
});
