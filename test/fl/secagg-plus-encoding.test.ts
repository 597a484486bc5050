// The client's pure-TS quantisation and masks must equal the native kernels bit for bit: a browser
// masks, the server unmasks with the addon.
import { describe, expect, it } from 'vitest';
import { applyMask, quantizeFixed } from '../../src/kernels/fl.js';
import { addMask, clipToNorm, quantize, seedWords } from '../../src/fl/client/secagg/encoding.js';
import { randomFloats } from '../reference/kernels.js';

const SIZES = [1, 19, 111, 989];

function seed(n: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + n * 101 + 7) & 0xff);
}

describe('SecAgg+ client encoding is bit-identical to the native kernels', () => {
  it.each(SIZES)('quantize, %i values, with ties and extremes', (n) => {
    const scale = 2 ** 20;
    const x = randomFloats(n, n).map((v) => v * 100);
    // Exact ties of x·scale (±k + ½ units) must round half to even, as nearbyint does.
    for (let i = 0; i < n; i += 3) x[i] = (Math.round(x[i]! * 4) + 0.5 * ((i % 2) * 2 - 1)) / scale;
    if (n > 1) x[1] = -2047.5 / 1024; // a negative tie
    expect(quantize(x, scale)).toEqual(quantizeFixed(x, scale));
    expect(quantize(x, 1.5)).toEqual(quantizeFixed(x, 1.5));
  });

  it('quantize refuses what the kernel refuses', () => {
    for (const bad of [Number.NaN, Infinity, 2 ** 31]) {
      const x = new Float32Array([0, bad]);
      expect(() => quantizeFixed(x, 1)).toThrow();
      expect(() => quantize(x, 1)).toThrow(/x\[1\]/);
    }
  });

  it.each(SIZES)('mask add and subtract, %i words, streams 0, 5 and 2^40 + 3', (n) => {
    for (const stream of [0n, 5n, (1n << 40n) + 3n]) {
      for (const subtract of [false, true]) {
        const base = Uint32Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 0);
        const ts = Uint32Array.from(base);
        const native = Uint32Array.from(base);
        addMask(ts, seed(n), { stream, subtract });
        applyMask(native, seedWords(seed(n)), { stream, subtract });
        expect(ts).toEqual(native);
        expect(ts).not.toEqual(base);
      }
    }
  });

  it('add then subtract restores the vector', () => {
    const x = Uint32Array.from({ length: 989 }, (_, i) => i);
    addMask(x, seed(1));
    addMask(x, seed(1), { subtract: true });
    expect(x).toEqual(Uint32Array.from({ length: 989 }, (_, i) => i));
  });

  it('clipToNorm bounds the float64 norm and leaves small inputs unchanged', () => {
    const x = randomFloats(989, 3);
    const c = clipToNorm(x, 0.5);
    expect(Math.sqrt(c.reduce((s, v) => s + v * v, 0))).toBeLessThanOrEqual(0.5);
    expect(Math.sqrt(c.reduce((s, v) => s + v * v, 0))).toBeGreaterThan(0.5 * (1 - 1e-6));
    expect(clipToNorm(x, 1e6)).toEqual(x);
  });
});

describe('the SecAgg+ client is isomorphic', () => {
  it('imports no node:* module and nothing that loads the addon', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = new URL('../../src/fl/client/secagg/', import.meta.url);
    for (const f of readdirSync(dir)) {
      const src = readFileSync(new URL(f, dir), 'utf8');
      const imports = [...src.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      for (const i of imports) {
        expect(i.startsWith('node:'), `${f} imports ${i}`).toBe(false);
        expect(/kernels|native|secagg\.js$/.test(i), `${f} imports ${i}`).toBe(false);
      }
    }
  });
});
