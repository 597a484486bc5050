// Agreement of two bias measures across training runs (issue 17 item 4): Cao et al., "On the Intrinsic and
// Extrinsic Fairness Evaluation Metrics for Contextualized Language Representations", ACL 2022, correlate an
// intrinsic measure (e.g. WEAT of the embedding) with an extrinsic one (e.g. the counterfactual gap of the
// classifier) over models trained in different settings, and report Pearson's r and Spearman's ρ. Here both
// come with a two-sided permutation p-value (pairs re-matched at random: H0 "no association"): exact over all
// n! matchings when n! ≤ `permutations`, else a seeded Monte-Carlo estimate with the (k + 1)/(m + 1)
// correction (Phipson and Smyth, Stat. Appl. Genet. Mol. Biol. 2010), as weat.ts does.
// Pure TypeScript (no addon).
import { invalidArgument } from '../errors.js';
import { Random } from '../data/random.js';
import { nonNegativeInteger, numberArray, optionsObject, positiveInteger } from '../validate.js';

export interface AgreementOptions {
  /** Monte-Carlo re-matchings, and the most matchings enumerated exactly (default 10 000). */
  permutations?: number;
  /** Seed of the Monte-Carlo re-matchings (default 0). */
  seed?: number;
}

export interface AgreementResult {
  /** Runs (pairs) compared. */
  runs: number;
  /** Pearson's r; NaN when either measure does not vary. */
  pearson: number;
  /** Spearman's ρ (Pearson's r of the ranks, ties given their mean rank); NaN when either does not vary. */
  spearman: number;
  /** Two-sided permutation p-values of |r| and |ρ| (NaN where the coefficient is NaN). */
  pValue: { pearson: number; spearman: number };
  /** 'exact': all n! matchings; 'monte-carlo': `matchings` random ones. */
  pValueMethod: 'exact' | 'monte-carlo';
  matchings: number;
}

/** Ranks 1..n, tied values sharing their mean rank. */
export function ranks(values: Float64Array): Float64Array {
  const order = Array.from(values.keys()).sort((a, b) => values[a]! - values[b]!);
  const out = new Float64Array(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    for (let k = i; k <= j; k++) out[order[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Centred copy and its norm (the correlation of two centred vectors is their dot over the norms). */
function centred(v: Float64Array): { c: Float64Array; norm: number } {
  let mean = 0;
  for (const x of v) mean += x / v.length;
  const c = v.map((x) => x - mean);
  let sq = 0;
  for (const x of c) sq += x * x;
  return { c, norm: Math.sqrt(sq) };
}

/** Σ a[i]·b[perm[i]] */
function dot(a: Float64Array, b: Float64Array, perm: Int32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[perm[i]!]!;
  return s;
}

/** Calls f with every permutation of 0..n-1 (Heap's algorithm, in place). */
function everyPermutation(n: number, f: (perm: Int32Array) => void): void {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const c = new Int32Array(n);
  f(perm);
  for (let i = 1; i < n; ) {
    if (c[i]! < i) {
      const j = i % 2 === 0 ? 0 : c[i]!;
      [perm[j], perm[i]] = [perm[i]!, perm[j]!];
      f(perm);
      c[i]!++;
      i = 1;
    } else {
      c[i] = 0;
      i++;
    }
  }
}

const factorial = (n: number) => {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
};

/**
 * Pearson's r and Spearman's ρ of `x` and `y` (one value per run, in the same order) with two-sided
 * permutation p-values. Needs at least 3 runs; with few runs the p-value cannot be small (n = 3: never below
 * 1/3 exactly), so read small-n agreement as descriptive. Bad input gets a typed error.
 */
export function metricAgreement(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  options?: AgreementOptions,
): AgreementResult {
  const xs = numberArray('x', x);
  const ys = numberArray('y', y);
  if (ys.length !== xs.length) throw invalidArgument('y', `${xs.length} values (as many as x)`, ys.length);
  if (xs.length < 3) throw invalidArgument('x', 'at least 3 values (runs)', xs.length);
  [xs, ys].forEach((v, k) => {
    const bad = v.findIndex((e) => !Number.isFinite(e));
    if (bad >= 0) throw invalidArgument(`${k === 0 ? 'x' : 'y'}[${bad}]`, 'a finite number', v[bad]);
  });
  const o = optionsObject('options', options);
  const permutations = o.permutations === undefined ? 10_000 : positiveInteger('options.permutations', o.permutations);
  const seed = o.seed === undefined ? 0 : nonNegativeInteger('options.seed', o.seed);
  const n = xs.length;
  const p = { x: centred(xs), y: centred(ys) };
  const r = { x: centred(ranks(xs)), y: centred(ranks(ys)) };
  const identity = Int32Array.from({ length: n }, (_, i) => i);
  const pearson = dot(p.x.c, p.y.c, identity) / (p.x.norm * p.y.norm);
  const spearman = dot(r.x.c, r.y.c, identity) / (r.x.norm * r.y.norm);
  // |r| ≥ observed, with a relative slack so that matchings tied with the observed one count despite rounding.
  const atLeast = (v: number, observed: number) => Math.abs(v) >= Math.abs(observed) * (1 - 1e-12);
  let kp = 0;
  let ks = 0;
  const count = (perm: Int32Array) => {
    if (atLeast(dot(p.x.c, p.y.c, perm), dot(p.x.c, p.y.c, identity))) kp++;
    if (atLeast(dot(r.x.c, r.y.c, perm), dot(r.x.c, r.y.c, identity))) ks++;
  };
  let pValue: { pearson: number; spearman: number };
  let pValueMethod: 'exact' | 'monte-carlo';
  let matchings: number;
  if (factorial(n) <= permutations) {
    everyPermutation(n, count);
    matchings = factorial(n);
    pValue = { pearson: kp / matchings, spearman: ks / matchings };
    pValueMethod = 'exact';
  } else {
    const rng = new Random(seed);
    const perm = Int32Array.from(identity);
    for (let m = 0; m < permutations; m++) {
      for (let i = n - 1; i > 0; i--) {
        const j = rng.below(i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      count(perm);
    }
    matchings = permutations;
    pValue = { pearson: (kp + 1) / (permutations + 1), spearman: (ks + 1) / (permutations + 1) };
    pValueMethod = 'monte-carlo';
  }
  if (Number.isNaN(pearson)) pValue.pearson = Number.NaN;
  if (Number.isNaN(spearman)) pValue.spearman = Number.NaN;
  return { runs: n, pearson, spearman, pValue, pValueMethod, matchings };
}
