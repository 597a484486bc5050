import { describe, expect, it } from 'vitest';
import { ppsInclusion, selectClients, type SelectionOptions } from '../../src/fl/selection.js';
import { Random } from '../../src/data/random.js';

// A population with very unequal activity and a scalar "update" per client.
const M = 40;
const activity = Array.from({ length: M }, (_, k) => (k % 7 === 0 ? 0 : 1 + ((k * 37) % 23) ** 2));
const u = Array.from({ length: M }, (_, k) => Math.sin(k) * 3 + (k % 5));
const N = activity.reduce((a, b) => a + b, 0);
const targetSamples = activity.reduce((s, n, k) => s + (n / N) * u[k]!, 0);

function estimates(options: SelectionOptions, rounds: number, seed: number): number[] {
  const rng = new Random(seed);
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const s = selectClients(activity, options, rng);
    let e = s.clients.reduce((acc, k, j) => acc + s.coefficients[j]! * u[k]!, 0);
    if (s.normalize) e /= s.coefficients.reduce((a, b) => a + b, 0);
    out.push(e);
  }
  return out;
}

function meanAndSe(xs: number[]): { mean: number; se: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, se: Math.sqrt(v / xs.length) };
}

describe('client selection: unbiased estimators (fixed seed, 4 standard errors)', () => {
  const cases: Array<[string, SelectionOptions]> = [
    ['uniform (Horvitz–Thompson)', { method: 'uniform', perRound: 8 }],
    ['poisson (Horvitz–Thompson)', { method: 'poisson', perRound: 8 }],
    ['activity ∝ n without replacement (systematic PPS, HT)', { method: 'activity', perRound: 8 }],
    ['activity ∝ n^0.5 without replacement', { method: 'activity', perRound: 8, power: 0.5 }],
    ['activity ∝ n with replacement (Hansen–Hurwitz)', { method: 'activity', perRound: 8, replacement: true }],
    ['activity ∝ n^2 with replacement', { method: 'activity', perRound: 5, power: 2, replacement: true }],
  ];
  for (const [name, options] of cases) {
    it(name, () => {
      const { mean, se } = meanAndSe(estimates(options, 20000, 11));
      expect(se).toBeGreaterThan(0);
      expect(Math.abs(mean - targetSamples)).toBeLessThan(4 * se);
    });
  }
  it('uniform weighting targets the plain mean of all clients', () => {
    const target = u.reduce((a, b) => a + b, 0) / M;
    const { mean, se } = meanAndSe(estimates({ method: 'uniform', perRound: 6, weighting: 'uniform' }, 20000, 3));
    expect(Math.abs(mean - target)).toBeLessThan(4 * se);
  });
  it("'top' is biased towards active clients and says so (normalize: true)", () => {
    const s = selectClients(activity, { method: 'top', perRound: 5 }, new Random(1));
    expect(s.normalize).toBe(true);
    const top = [...activity.keys()]
      .sort((a, b) => activity[b]! - activity[a]! || a - b)
      .slice(0, 5)
      .sort((a, b) => a - b);
    expect(s.clients).toEqual(top);
  });
});

describe('client selection: mechanics', () => {
  it('systematic PPS gives exactly K distinct clients with the stated inclusion probabilities', () => {
    const rng = new Random(5);
    const counts = new Array<number>(M).fill(0);
    const R = 20000;
    for (let r = 0; r < R; r++) {
      const s = selectClients(activity, { method: 'activity', perRound: 8 }, rng);
      expect(new Set(s.clients).size).toBe(8);
      s.clients.forEach((k) => (counts[k]! += 1));
    }
    const pi = ppsInclusion(Float64Array.from(activity), 8);
    expect(pi.reduce((a, b) => a + b, 0)).toBeCloseTo(8, 9);
    pi.forEach((p, k) => {
      const sd = Math.sqrt((p * (1 - p)) / R);
      expect(Math.abs(counts[k]! / R - p)).toBeLessThanOrEqual(4 * sd + 1e-12);
      if (activity[k] === 0) expect(counts[k]).toBe(0);
    });
  });
  it('caps certainty units at π = 1', () => {
    const pi = ppsInclusion(Float64Array.from([1000, 1, 1, 1, 1]), 2);
    expect(pi[0]).toBe(1);
    expect(Array.from(pi.slice(1))).toEqual([0.25, 0.25, 0.25, 0.25]);
  });
  it('is reproducible from the seed', () => {
    const a = selectClients(activity, { method: 'activity', perRound: 8 }, new Random(9));
    const b = selectClients(activity, { method: 'activity', perRound: 8 }, new Random(9));
    expect(a).toEqual(b);
  });
  it('rejects bad arguments', () => {
    expect(() => selectClients(activity, { method: 'uniform', perRound: 0 }, new Random(1))).toThrow(
      /perRound must be an integer in \[1, 40\]/,
    );
    expect(() => selectClients([1, -1], { method: 'uniform', perRound: 1 }, new Random(1))).toThrow(
      /activity\[1\] must be a non-negative finite number/,
    );
    expect(() => selectClients([1, 0, 0], { method: 'activity', perRound: 2 }, new Random(1))).toThrow(
      /at most the number of clients with activity > 0 \(1\)/,
    );
    expect(() => selectClients(activity, { method: 'uniform', perRound: 2, replacement: true }, new Random(1))).toThrow(
      /replacement/,
    );
    expect(() => selectClients(activity, { method: 'nope' as never, perRound: 2 }, new Random(1))).toThrow(
      /method must be/,
    );
  });
});
