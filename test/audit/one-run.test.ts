import { describe, expect, it } from 'vitest';
import { gaussianEpsilon } from '../../src/accounting/index.js';
import { binomialLogPmf } from '../../src/audit/binomial.js';
import { independentTrialsEpsilon } from '../../src/audit/epsilon-bound.js';
import { gaussianSigma } from '../../src/audit/gaussian-audit.js';
import {
  defaultGuessRules,
  drawMembership,
  oneRunAudit,
  oneRunEpsilon,
  oneRunPValue,
} from '../../src/audit/one-run.js';
import { Random, SecureRandom } from '../../src/data/random.js';

const counts = (canaries: number, guesses: number, correct: number) => ({ canaries, guesses, correct });
const logit = (q: number) => Math.log(q / (1 - q));

describe('binomialLogPmf (Loader 2000)', () => {
  it('matches 50-digit mpmath (ln Γ form), including n = 10^9 and extreme q', () => {
    // scipy 1.17.1's binom.logpmf, a float64 ln Γ sum, is 5e-6 off at n = 10^9 (-10.587449252605438).
    const cases: [number, number, number, number][] = [
      [500000123, 1e9, 0.5, -10.587454529367902753],
      [3, 1e6, 1e-6, -2.7917599692293884269],
      [999990, 1e6, 1 - 1e-5, -2.07855664311089163],
      [7, 10, 0.731, -1.345032689985357655],
      [0, 50, 0.3, -17.833747196936618153],
      [50, 50, 0.3, -60.198640216296801482],
      [420, 1000, 0.5, -16.522141426391435783],
    ];
    for (const [k, n, q, expected] of cases) {
      const got = binomialLogPmf(k, n, Math.log(q), Math.log1p(-q));
      expect(Math.abs(got - expected)).toBeLessThan(1e-11 * Math.max(1, Math.abs(expected)));
    }
  });
});

// Reference values: the authors' Python listing of the p-value and of the ε search (Steinke, Nasr
// and Jagielski 2023, the code accompanying §5), evaluated with scipy 1.17.1 (binom.sf and
// binom.pmf) and a bisection run to 1e-13.
describe('oneRunPValue: known answers', () => {
  it("matches the paper's listing evaluated with scipy", () => {
    const cases: [number, number, number, number, number, number][] = [
      [1000, 100, 90, 1.0, 1e-5, 0.0008412885614385305],
      [1000, 100, 90, 2.0, 1e-5, 0.3449868367938024],
      [1000, 600, 600, 3.0, 1e-5, 0.0005192544683212483],
      [500, 100, 100, 3.4, 1e-5, 0.03937995336407489],
      [100, 10, 7, 0.5, 0, 0.44004955070316953],
      [10000, 2000, 1500, 1.0, 1e-6, 0.029295856777197767],
      [1000, 1000, 700, 0.8, 1e-5, 0.25876516007955885],
    ];
    for (const [m, r, v, eps, delta, expected] of cases) {
      expect(Math.abs(oneRunPValue(counts(m, r, v), eps, delta) / expected - 1)).toBeLessThan(1e-12);
    }
  });

  it('pure DP with every guess right: p = q^r in closed form (Theorem 3.1)', () => {
    const q = 1 / (1 + Math.exp(-2));
    expect(oneRunPValue(counts(50, 20, 20), 2, 0)).toBeCloseTo(q ** 20, 15);
    // v = 0 is certain under any mechanism; ε = 0 is a fair coin.
    expect(oneRunPValue(counts(50, 20, 0), 2, 1e-5)).toBe(1);
    expect(oneRunPValue(counts(10, 4, 4), 0, 0)).toBeCloseTo(1 / 16, 15);
  });
});

describe('oneRunEpsilon: known answers', () => {
  it("matches the paper's listing evaluated with scipy (bisection to 1e-13)", () => {
    const cases: [number, number, number, number, number, number][] = [
      [500, 100, 100, 1e-5, 0.95, 3.4791953949828667],
      [500, 100, 100, 1e-5, 0.99, 3.0231975541457814],
      [500, 30, 23, 1e-5, 0.95, 0.426487592198896],
      [500, 30, 23, 1e-5, 0.99, 0.16005427243072745],
      [500, 25, 18, 1e-5, 0.95, 0.14663787064472444],
      [500, 100, 60, 1e-5, 0.95, 0.050735610891820215],
      [500, 35, 23, 1e-5, 0.95, 0.014548720200536991],
      [1000, 600, 600, 1e-5, 0.95, 5.27039946351465],
      [1000, 100, 100, 0, 0.95, 3.4929654311522427],
      [1000, 1000, 750, 1e-5, 0.95, 0.9763674691160986],
      [10000, 10000, 7000, 1e-6, 0.95, 0.811194522031542],
    ];
    for (const [m, r, v, delta, confidence, expected] of cases) {
      const b = oneRunEpsilon(counts(m, r, v), { delta, confidence });
      expect(b.analysis).toBe('one-run');
      expect(Math.abs(b.epsilon - expected)).toBeLessThan(1e-9);
      expect(b.pValue).toBeLessThan(1 - confidence);
    }
  });

  it('agrees with values published by an independent implementation of the same listing', () => {
    // codedp-cpt-models audit summaries (Hugging Face, m = 500 canaries, δ = 1e-5), computed with the
    // listing's 30-step bisection, whose lower end sits at most ~4e-9 below the crossing point.
    const published: [number, number, number, number][] = [
      [100, 100, 0.95, 3.4791953936219215],
      [100, 100, 0.99, 3.023197554051876],
      [30, 23, 0.95, 0.42648759204894304],
      [30, 23, 0.99, 0.16005427204072475],
      [25, 18, 0.95, 0.14663786999881268],
      [100, 60, 0.95, 0.05073561053723097],
      [35, 23, 0.95, 0.014548719860613346],
    ];
    for (const [r, v, confidence, theirs] of published) {
      const ours = oneRunEpsilon(counts(500, r, v), { delta: 1e-5, confidence }).epsilon;
      expect(ours - theirs).toBeGreaterThanOrEqual(0);
      expect(ours - theirs).toBeLessThan(1e-8);
    }
  });

  it('closed forms: δ = 0 and v = r give logit((1 − c)^(1/r)); m = 1 at c = 0.4 gives ln 1.5', () => {
    for (const r of [1, 10, 100, 1e4]) {
      const b = oneRunEpsilon(counts(1e6, r, r), { delta: 0, confidence: 0.9 });
      expect(b.epsilon).toBeCloseTo(Math.max(0, logit(0.1 ** (1 / r))), 9);
    }
    expect(oneRunEpsilon(counts(1, 1, 1), { delta: 0, confidence: 0.4 }).epsilon).toBeCloseTo(Math.log(1.5), 10);
  });
});

describe('oneRunEpsilon: monotonicity and edge cases', () => {
  it('more correct guesses never lower the bound; more canaries (δ > 0) never raise it', () => {
    let previous = -1;
    let positive = 0;
    for (let v = 0; v <= 200; v++) {
      const e = oneRunEpsilon(counts(1000, 200, v), { delta: 1e-5 }).epsilon;
      expect(e).toBeGreaterThanOrEqual(previous);
      if (e > 0) {
        expect(e).toBeGreaterThan(previous);
        positive++;
      }
      previous = e;
    }
    expect(positive).toBeGreaterThan(50);
    let last = Infinity;
    for (const m of [200, 1000, 1e4, 1e5, 1e6]) {
      const e = oneRunEpsilon(counts(m, 200, 190), { delta: 1e-6 }).epsilon;
      expect(e).toBeLessThanOrEqual(last);
      last = e;
    }
    // δ = 0: m does not enter.
    const small = oneRunEpsilon(counts(200, 200, 190), { delta: 0 }).epsilon;
    expect(oneRunEpsilon(counts(1e15, 200, 190), { delta: 0 }).epsilon).toBe(small);
  });

  it('the p-value rises with ε and falls with v on a grid', () => {
    for (const [m, r, v, delta] of [
      [1000, 300, 240, 1e-5],
      [5000, 5000, 3000, 1e-6],
      [100, 100, 100, 1e-3],
    ] as const) {
      let prev = 0;
      for (let eps = 0; eps <= 8; eps += 0.05) {
        const p = oneRunPValue(counts(m, r, v), eps, delta);
        expect(p).toBeGreaterThanOrEqual(prev * (1 - 1e-12));
        prev = p;
      }
      const pv = oneRunPValue(counts(m, r, v), 1, delta);
      expect(oneRunPValue(counts(m, r, v - 1), 1, delta)).toBeGreaterThanOrEqual(pv);
    }
  });

  it('r = 0, v = 0, chance-level guessing and a δ too large for m certify nothing', () => {
    expect(oneRunEpsilon(counts(100, 0, 0), { delta: 1e-5 })).toMatchObject({ epsilon: 0, pValue: 1, guesses: 0 });
    expect(oneRunEpsilon(counts(100, 50, 0), { delta: 1e-5 }).epsilon).toBe(0);
    expect(oneRunEpsilon(counts(1000, 1000, 500), { delta: 1e-5 }).epsilon).toBe(0);
    expect(oneRunEpsilon(counts(1e12, 1000, 1000), { delta: 1e-5 }).epsilon).toBe(0);
    expect(oneRunEpsilon(counts(1, 1, 1), { delta: 0 }).epsilon).toBe(0);
  });

  it('huge m and r stay finite and fast enough to test', () => {
    const b = oneRunEpsilon(counts(1e12, 1e6, 1e6), { delta: 1e-15 });
    expect(b.epsilon).toBeGreaterThan(12);
    expect(b.epsilon).toBeLessThan(logit(0.05 ** 1e-6));
    const c = oneRunEpsilon(counts(2e6, 2e6, 1.1e6), { delta: 1e-9 });
    expect(c.epsilon).toBeGreaterThan(0.19);
    expect(c.epsilon).toBeLessThan(logit(0.55));
    // r = 10^9 at 50.1% right: the p-value sums only the terms float64 can hold (under a second).
    const d = oneRunEpsilon(counts(1e9, 1e9, 5.01e8), { delta: 1e-12 });
    expect(d.epsilon).toBeGreaterThan(0.003);
    expect(d.epsilon).toBeLessThan(logit(0.501));
  });

  it('bad input fails with typed errors naming the argument', () => {
    const pure = (m: number, r: number, v: number) => () => oneRunEpsilon(counts(m, r, v), { delta: 0 });
    const bad: [() => unknown, string][] = [
      [pure(0, 0, 0), 'canaries must be a positive integer, received 0'],
      [pure(10, 11, 0), 'guesses must be an integer in [0, canaries = 10], received 11'],
      [pure(10, 5, 6), 'correct must be an integer in [0, guesses = 5], received 6'],
      [pure(2 ** 40, 2 ** 33, 0), 'guesses must be an integer in [0, 2^32], received 8589934592'],
      [pure(10, 5, 2.5), 'correct must be an integer in [0, guesses = 5], received 2.5'],
      [() => oneRunEpsilon(counts(10, 5, 2), { delta: 1.5 }), 'delta must be in [0, 1], received 1.5'],
      [() => oneRunEpsilon(counts(10, 5, 2), { delta: 0, confidence: 1 }), 'confidence must be in (0, 1), received 1'],
    ];
    for (const [f, message] of bad) expect(f).toThrow(message);
    expect(() => oneRunPValue(counts(10, 5, 2), -1, 0)).toThrow('epsilon must be a non-negative number, received -1');
    for (const f of [
      () => oneRunEpsilon({ canaries: '10', guesses: 5, correct: 2 } as never, { delta: 0 }),
      () => oneRunPValue(counts(10, 5, 2), NaN as number, 0) as unknown,
    ]) {
      expect(f).toThrow();
    }
    try {
      oneRunEpsilon({ canaries: '10', guesses: 5, correct: 2 } as never, { delta: 0 });
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_DPFL_INVALID_TYPE');
    }
    try {
      oneRunEpsilon(counts(10, 11, 0), { delta: 0 });
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_DPFL_INVALID_ARGUMENT');
    }
  });
});

describe('oneRunAudit: guesses from scores', () => {
  it('counts the top k₊ as members and the bottom k₋ as non-members (hand-computed)', () => {
    const scores = [4, 3, 2, 1, 0];
    const membership = [1, 0, 1, 0, 0];
    const a = oneRunAudit(scores, membership, { delta: 0, rules: [{ positive: 2, negative: 2 }] });
    // Top 2: indices 0 (member, right) and 1 (non-member, wrong); bottom 2: 3 and 4, both right.
    expect(a).toMatchObject({ canaries: 5, guesses: 4, correct: 3, positiveGuesses: 2, negativeGuesses: 2, rules: 1 });
    expect(a.epsilon).toBe(oneRunEpsilon(counts(5, 4, 3), { delta: 0 }).epsilon);
    expect(a.assumptions).toMatch(/independently with probability 1\/2/);
  });

  it('reports the best rule, each tested at (1 − c)/rules (Bonferroni)', () => {
    const rng = new Random(5);
    const m = 1000;
    const membership = drawMembership(m, rng);
    const scores = Float64Array.from(membership, (s) => s + 0.8 * rng.normal());
    const rules = defaultGuessRules(m);
    expect(rules.length).toBe(19); // k ∈ {1, 2, 5, …, 500} both sides, {1, …, 1000} one side
    const a = oneRunAudit(scores, membership, { delta: 1e-5, confidence: 0.95 });
    expect(a.rules).toBe(rules.length);
    expect(a.confidence).toBe(0.95);
    expect(a.pValue).toBeLessThan(0.05 / rules.length);
    const rule = { positive: a.positiveGuesses, negative: a.negativeGuesses };
    const single = oneRunAudit(scores, membership, { delta: 1e-5, confidence: 1 - 0.05 / rules.length, rules: [rule] });
    expect(a.epsilon).toBe(single.epsilon);
    expect(a.epsilon).toBeGreaterThan(0.5);
  });

  it('accepts a draw with no members (one-class draws are legitimate) and rejects bad input', () => {
    expect(oneRunAudit([1, 2, 3], [0, 0, 0], { delta: 0 }).epsilon).toBe(0);
    const bad: [() => unknown, string][] = [
      [() => oneRunAudit([1, 2], [1], { delta: 0 }), 'membership.length must be the length of scores (2), received 1'],
      [() => oneRunAudit([], [], { delta: 0 }), 'scores must be a non-empty array'],
      [() => oneRunAudit([1, NaN], [1, 0], { delta: 0 }), 'scores[1] must be a number (not NaN), received NaN'],
      [() => oneRunAudit([1, 2], [1, 2], { delta: 0 }), 'membership[1] must be 0, 1, true or false, received 2'],
      [
        () => oneRunAudit([1, 2], [1, 0], { delta: 0, rules: [{ positive: 2, negative: 1 }] }),
        'rules[0] must be at most 2 guesses in all, received 3',
      ],
      [() => oneRunAudit([1, 2], [1, 0], { delta: 0, rules: [] }), 'rules must be a non-empty list'],
    ];
    for (const [f, message] of bad) expect(f).toThrow(message);
  });
});

describe('drawMembership', () => {
  it("independent fair coins from the audit's generator: seeded reproducible, or the OS CSPRNG", () => {
    const a = drawMembership(100000, new Random(9));
    expect(a).toEqual(drawMembership(100000, new Random(9)));
    const ones = a.reduce((s, f) => s + f, 0);
    expect(Math.abs(ones - 50000)).toBeLessThan(5 * Math.sqrt(25000)); // 5 standard deviations
    // Pairs of neighbours agree about half of the time (no dependence between canaries).
    let agree = 0;
    for (let i = 1; i < a.length; i++) agree += a[i] === a[i - 1] ? 1 : 0;
    expect(Math.abs(agree - 49999.5)).toBeLessThan(5 * Math.sqrt(25000));
    expect(drawMembership(1000, 9)).toEqual(drawMembership(1000, new Random(9))); // a seed is a seeded xoshiro128**
    for (const s of [drawMembership(1000, new SecureRandom()), drawMembership(1000)]) {
      expect(s.every((f) => f === 0 || f === 1)).toBe(true);
      expect(Math.abs(s.reduce((a, f) => a + f, 0) - 500)).toBeLessThan(5 * Math.sqrt(250));
    }
    expect(() => drawMembership(0, new Random(1))).toThrow('m must be a positive integer, received 0');
    expect(() => drawMembership(10, -1)).toThrow('source must be a non-negative integer seed or a generator');
    expect(() => drawMembership(10, 'x' as never)).toThrow('source must be a seed, a generator with nextUint32()');
  });
});

// Validity: on mechanisms whose ε is known, the one-run bound exceeds the true ε in at most a
// fraction 1 − c of runs. Every run draws its own membership and noise from fixed seeds.
describe('one-run bound is valid on mechanisms with known ε (fixed seeds)', () => {
  it('randomized response, ε = 1 (pure DP, Thm 3.1): ≤ 5% of 200 runs exceed ε; the bound is informative', () => {
    const eps = 1;
    const q = 1 / (1 + Math.exp(-eps));
    const m = 1000;
    let exceed = 0;
    let sum = 0;
    for (let t = 0; t < 200; t++) {
      const rng = new Random(1000 + t);
      const s = drawMembership(m, rng);
      // Each canary's output is its bit, flipped with probability 1 − q: ε-DP in each canary.
      let v = 0;
      for (let i = 0; i < m; i++) v += rng.next() < q ? 1 : 0; // guessing the output is right iff not flipped
      const b = oneRunEpsilon(counts(m, m, v), { delta: 0, confidence: 0.95 });
      if (b.epsilon > eps) exceed++;
      sum += b.epsilon;
      expect(s.length).toBe(m);
    }
    expect(exceed).toBeLessThanOrEqual(10);
    expect(sum / 200).toBeGreaterThan(0.8);
  });

  it('Gaussian scores, ε = 4 at δ = 1e-5 (Theorem 5.2), all guessing rules: at most 5% of 100 runs exceed ε', () => {
    const delta = 1e-5;
    const sigma = gaussianSigma(4, delta);
    const trueEps = gaussianEpsilon(1 / sigma, delta);
    expect(trueEps).toBeCloseTo(4, 6);
    const m = 1000;
    let exceed = 0;
    let sum = 0;
    for (let t = 0; t < 100; t++) {
      const rng = new Random(5000 + t);
      const s = drawMembership(m, rng);
      // Score = inclusion + N(0, σ²), independently per canary: the Gaussian mechanism on each bit.
      const scores = Float64Array.from(s, (b) => b + sigma * rng.normal());
      const b = oneRunAudit(scores, s, { delta, confidence: 0.95 });
      if (b.epsilon > trueEps) exceed++;
      sum += b.epsilon;
    }
    expect(exceed).toBeLessThanOrEqual(5);
    expect(sum / 100).toBeGreaterThan(0.5);
  });

  it('a run-wide δ-event: independent-trials overclaims in ~10% of runs at a stated 95%; one-run never', () => {
    // M: with probability δ = 0.1 (one coin per run) release every canary's membership, else
    // ε-randomized response per canary. For each canary and event E:
    //   P[M(S) ∈ E] ≤ δ + (1 − δ) e^ε P[RR(S') ∈ E] ≤ e^ε P[M(S') ∈ E] + δ: (1, 0.1)-DP.
    // In one run the δ-event hits all m canaries at once, so they are not independent trials.
    const eps = 1;
    const delta = 0.1;
    const q = 1 / (1 + Math.exp(-eps));
    const m = 1000;
    const runs = 300;
    let oldExceed = 0;
    let oneRunExceed = 0;
    for (let t = 0; t < runs; t++) {
      const rng = new Random(9000 + t);
      const s = drawMembership(m, rng);
      const leak = rng.next() < delta;
      const y = Float64Array.from(s, (b) => (leak || rng.next() < q ? b : 1 - b));
      if (independentTrialsEpsilon(y, s, { delta, confidence: 0.95 }).epsilon > eps) oldExceed++;
      if (oneRunAudit(y, s, { delta, confidence: 0.95 }).epsilon > eps) oneRunExceed++;
    }
    expect(oldExceed / runs).toBeGreaterThan(0.07); // claims ≤ 5%
    expect(oneRunExceed).toBe(0);
  });
});
