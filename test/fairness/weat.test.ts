// weat against a worked example (the paper's formulas evaluated with numpy on a hand-built 3-d table), the
// exact and Monte-Carlo p-values, and the edge cases: missing terms, unequal sizes, zero vectors.
import { describe, expect, it } from 'vitest';
import { isDpflError } from '../../src/errors.js';
import {
  WEAT_CAREER_TERMS,
  WEAT_FAMILY_TERMS,
  WEAT_FEMALE_TERMS,
  WEAT_MALE_TERMS,
  weat,
} from '../../src/fairness/weat.js';
import { genderedTerms } from '../../src/fairness/gender-swap.js';

const TABLE: Record<string, number[]> = {
  he: [1, 0.2, 0],
  man: [0.9, 0.1, 0.3],
  king: [0.8, 0.4, 0.1],
  she: [0.1, 1, 0.2],
  woman: [0.2, 0.9, 0.1],
  queen: [0.3, 0.7, 0.4],
  office: [1, 0.1, 0.5],
  salary: [0.7, 0.2, 0.6],
  home: [0.1, 0.8, 0.5],
  family: [0.3, 1, 0.2],
};
const embed = (t: string): Float32Array | undefined => (TABLE[t] ? Float32Array.from(TABLE[t]!) : undefined);
const A = ['office', 'salary'];
const B = ['home', 'family'];

// Reference values from numpy (float64, sample std with ddof = 1, exact enumeration of the partitions):
//   s = lambda w: mean(cos(w, a) for a in A) - mean(cos(w, b) for b in B)
//   d = (mean(sx) - mean(sy)) / std(sx + sy, ddof=1); p = share of combinations with mean diff >= observed
describe('weat on a worked example', () => {
  it('matches the paper formulas (3 vs 3 targets, exact p over 20 partitions)', () => {
    const r = weat({
      embed,
      targets: [
        ['he', 'man', 'king'],
        ['she', 'woman', 'queen'],
      ],
      attributes: [A, B],
    });
    expect(r.effectSize).toBeCloseTo(1.7491139508099056, 6);
    expect(r.statistic).toBeCloseTo(2.770349254302981, 6);
    expect(Array.from(r.associations.x)).toEqual(
      [0.465119888786943, 0.5672802328834622, 0.244253395288637].map((v) => expect.closeTo(v, 6)),
    );
    expect(Array.from(r.associations.y)).toEqual(
      [-0.6270817372857767, -0.5655528638218464, -0.3010611362363155].map((v) => expect.closeTo(v, 6)),
    );
    expect(r).toMatchObject({ pValue: 0.05, pValueMethod: 'exact', partitions: 20 });
  });

  it('swapping X and Y negates d; the one-sided p becomes 1', () => {
    const r = weat({
      embed,
      targets: [
        ['she', 'woman', 'queen'],
        ['he', 'man', 'king'],
      ],
      attributes: [A, B],
    });
    expect(r.effectSize).toBeCloseTo(-1.7491139508099056, 6);
    expect(r.pValue).toBe(1);
  });

  it('takes X and Y of different sizes (3 vs 2: 10 partitions)', () => {
    const r = weat({
      embed,
      targets: [
        ['he', 'man', 'king'],
        ['she', 'woman'],
      ],
      attributes: [A, B],
    });
    expect(r.effectSize).toBeCloseTo(1.7859806697739886, 6);
    expect(r.statistic).toBeCloseTo(2.4692881180666655, 6);
    expect(r).toMatchObject({ pValue: 0.1, pValueMethod: 'exact', partitions: 10 });
  });

  it('reports terms without a vector and leaves them out', () => {
    const r = weat({
      embed,
      targets: [
        ['he', 'man', 'king', 'nobody'],
        ['she', 'woman', 'queen'],
      ],
      attributes: [[...A, 'wage'], B],
    });
    expect(r.missing).toEqual({ x: ['nobody'], y: [], a: ['wage'], b: [] });
    expect(r.terms.x).toEqual(['he', 'man', 'king']);
    expect(r.effectSize).toBeCloseTo(1.7491139508099056, 6);
  });
});

describe('weat p-values', () => {
  // 8 vs 8 targets on random 5-d vectors: C(16, 8) = 12 870 partitions.
  const dim = 5;
  let state = 7;
  const uniform = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  const table = new Map<string, Float64Array>();
  const words = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
  const xs = words('x', 8);
  const ys = words('y', 8);
  const as = words('a', 4);
  const bs = words('b', 4);
  for (const w of [...xs, ...ys, ...as, ...bs]) {
    const v = Float64Array.from({ length: dim }, uniform);
    if (w.startsWith('x')) v[0]! += 0.3; // a mild association of X with A
    if (w.startsWith('a')) v[0]! += 0.5;
    table.set(w, v);
  }
  const input = { embed: (t: string) => table.get(t), targets: [xs, ys] as const, attributes: [as, bs] as const };

  it('the Monte-Carlo estimate agrees with the exact p and is reproducible from its seed', () => {
    const exact = weat({ ...input, permutations: 20_000 });
    expect(exact).toMatchObject({ pValueMethod: 'exact', partitions: 12_870 });
    const mc = weat({ ...input, permutations: 4000, seed: 3 });
    expect(mc).toMatchObject({ pValueMethod: 'monte-carlo', partitions: 4000 });
    // 4 binomial standard errors of a proportion near p over 4000 draws.
    const se = Math.sqrt((exact.pValue * (1 - exact.pValue)) / 4000);
    expect(Math.abs(mc.pValue - exact.pValue)).toBeLessThan(4 * se + 1 / 4001);
    expect(mc.pValue).toBeGreaterThan(0); // the (k + 1)/(n + 1) correction
    expect(weat({ ...input, permutations: 4000, seed: 3 }).pValue).toBe(mc.pValue);
    expect(mc.effectSize).toBe(exact.effectSize);
  });
});

describe('weat edge cases', () => {
  const typed = (f: () => unknown, pattern: RegExp) => {
    let error: unknown;
    try {
      f();
    } catch (e) {
      error = e;
    }
    expect(isDpflError(error)).toBe(true);
    expect(String(error)).toMatch(pattern);
  };
  const T: [string[], string[]] = [
    ['he', 'man'],
    ['she', 'woman'],
  ];

  it('refuses a zero vector, naming the term', () => {
    const z = (t: string) => (t === 'home' ? new Float32Array(3) : embed(t));
    typed(() => weat({ embed: z, targets: T, attributes: [A, B] }), /embed\("home"\) must be a non-zero vector/);
  });

  it('refuses non-finite entries and vectors of different lengths', () => {
    const nan = (t: string) => (t === 'he' ? Float32Array.of(1, Number.NaN, 0) : embed(t));
    typed(() => weat({ embed: nan, targets: T, attributes: [A, B] }), /embed\("he"\)\[1\] must be finite/);
    const short = (t: string) => (t === 'she' ? Float32Array.of(1, 0) : embed(t));
    typed(() => weat({ embed: short, targets: T, attributes: [A, B] }), /embed\("she"\)\.length/);
  });

  it('refuses sets left empty or too small, and malformed arguments', () => {
    typed(() => weat({ embed, targets: [['nobody'], ['she', 'woman']], attributes: [A, B] }), /targets\[0\]/);
    typed(() => weat({ embed, targets: [['he'], ['she']], attributes: [A, B] }), /at least 3/);
    typed(() => weat({ embed, targets: T, attributes: [A, ['none']] }), /attributes\[1\]/);
    typed(() => weat({ embed, targets: [['he']] as never, attributes: [A, B] }), /targets must be a pair/);
    typed(() => weat({ embed: 3 as never, targets: T, attributes: [A, B] }), /embed must be a function/);
    typed(() => weat({ embed: () => [1, 2] as never, targets: T, attributes: [A, B] }), /Float32Array/);
    typed(() => weat({ embed, targets: T, attributes: [A, B], permutations: 0 }), /permutations/);
  });

  it('gives NaN effect size (not a throw) when every target has the same association', () => {
    const same = (t: string) => (t.startsWith('x') ? Float32Array.of(1, 1, 0) : embed(t));
    const r = weat({ embed: same, targets: [['x1', 'x2'], ['x3']], attributes: [A, B] });
    expect(r.effectSize).toBeNaN();
    expect(r.pValue).toBe(1);
  });

  it('exports the default term sets', () => {
    expect(WEAT_MALE_TERMS).toEqual(genderedTerms().male);
    expect(WEAT_FEMALE_TERMS).toEqual(genderedTerms().female);
    expect(WEAT_CAREER_TERMS.length).toBe(10);
    expect(WEAT_FAMILY_TERMS.length).toBe(10);
    expect(Object.isFrozen(WEAT_CAREER_TERMS)).toBe(true);
  });
});
