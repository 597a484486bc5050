// The one seeded generator (src/data/random.ts): its xoshiro128** stream is what DP-SGD's samplers,
// splits and initialisation read, so it is pinned; the draws FL added are checked by their laws.
import { describe, expect, it } from 'vitest';
import { Random, RandomSource, SecureRandom } from '../../src/data/random.js';

describe('Random', () => {
  it('keeps the stream DP-SGD reads (first words for seed 1 and a 64-bit bigint seed)', () => {
    // Pinned from the generator before FL moved onto it: a change here changes every seeded DP-SGD run.
    const a = new Random(1);
    const b = new Random(0x1234_5678_9abc_def0n);
    const words = (r: Random) => Array.from({ length: 4 }, () => r.nextUint32());
    expect(words(a)).toEqual(FIRST_WORDS_SEED_1);
    expect(words(b)).toEqual(FIRST_WORDS_BIGINT);
  });

  it('shuffle is Fisher–Yates from the end with below(i + 1): a permutation, the loop splitDataset ran', () => {
    const a = Int32Array.from({ length: 50 }, (_, i) => i);
    new Random(3).shuffle(a);
    const r = new Random(3);
    const b = Int32Array.from({ length: 50 }, (_, i) => i);
    for (let i = b.length - 1; i > 0; i--) {
      const j = r.below(i + 1);
      [b[i], b[j]] = [b[j]!, b[i]!];
    }
    expect(Array.from(a)).toEqual(Array.from(b));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('categorical draws in proportion to the weights and never picks a zero weight', () => {
    const r = new Random(5);
    const w = [1, 0, 3, 0];
    const counts = [0, 0, 0, 0];
    const n = 40_000;
    for (let i = 0; i < n; i++) counts[r.categorical(w)]! += 1;
    expect(counts[1]).toBe(0);
    expect(counts[3]).toBe(0);
    // Binomial sd of the share of index 2 is sqrt(0.75 · 0.25 / n) ≈ 0.0022: 5 sd.
    expect(Math.abs(counts[2]! / n - 0.75)).toBeLessThan(0.011);
  });

  it('normal, gamma and Dirichlet have the right first moments', () => {
    const r = new Random(9);
    const n = 20_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.04); // sd of the mean 1/√n ≈ 0.007
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.06);
    for (const shape of [0.3, 2.5]) {
      let g = 0;
      for (let i = 0; i < n; i++) g += r.gamma(shape);
      expect(Math.abs(g / n - shape) / shape).toBeLessThan(0.05); // E = shape, sd of the mean √(shape/n)
    }
    const d = r.dirichlet([1, 2, 0, 3]);
    expect(d[2]).toBe(0);
    expect(d.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 12);
  });

  it('derive: reproducible, path-sensitive, and derive(seed) with no path is new Random(seed)', () => {
    const first = (r: Random) => [r.nextUint32(), r.nextUint32()];
    expect(first(Random.derive(4, 3, 1, 2))).toEqual(first(Random.derive(4, 3, 1, 2)));
    expect(first(Random.derive(4, 3, 1, 2))).not.toEqual(first(Random.derive(4, 3, 2, 1)));
    expect(first(Random.derive(4, 3, 1))).not.toEqual(first(Random.derive(5, 3, 1)));
    expect(first(Random.derive(4))).toEqual(first(new Random(4)));
    expect(() => Random.derive(4, -1)).toThrow(/path\[0\] must be a non-negative safe integer/);
    expect(() => Random.derive(0.5)).toThrow(/seed must be a safe integer/);
  });

  it('SecureRandom has every draw of Random (the OS CSPRNG behind the same methods)', () => {
    const s = new SecureRandom();
    expect(s).toBeInstanceOf(RandomSource);
    const a = [0, 1, 2, 3, 4, 5];
    s.shuffle(a);
    expect([...a].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(s.categorical([0, 0, 1])).toBe(2);
    expect(s.below(7)).toBeLessThan(7);
    expect(Number.isFinite(s.normal())).toBe(true);
  });
});

const FIRST_WORDS_SEED_1 = [2442144158, 3238099751, 3819917871, 2104621829];
const FIRST_WORDS_BIGINT = [2093635269, 1527240430, 575072428, 1273994601];
