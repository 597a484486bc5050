// The Word Embedding Association Test (issue 17 item 4, an intrinsic bias measure): Caliskan, Bryson and
// Narayanan, "Semantics derived automatically from language corpora contain human-like biases", Science 356
// (2017). For target sets X, Y and attribute sets A, B of terms with embedding vectors:
//   s(w, A, B) = mean_{a∈A} cos(w, a) − mean_{b∈B} cos(w, b)
//   effect size d = (mean_{x∈X} s(x, A, B) − mean_{y∈Y} s(y, A, B)) / std_{w∈X∪Y} s(w, A, B)
// with the sample standard deviation (n − 1), as the paper's supplement computes it. The one-sided p-value is
// the share of re-partitions (X_i, Y_i) of X ∪ Y into sets of sizes |X| and |Y| whose statistic is at least the
// observed one. The paper's statistic S = Σ_x s(x) − Σ_y s(y) and its strict ">" are for |X| = |Y|; here the
// statistic is the difference of means (the same ordering as S when the sizes are equal, and the one that
// stays meaningful when they are not), and "≥" counts the observed partition itself, so p is never 0 (the
// usual permutation-test convention). Exact when the number of partitions C(|X|+|Y|, |X|) is at most
// `permutations`, else a seeded Monte-Carlo estimate with the (k + 1)/(n + 1) correction (Phipson and Smyth,
// "Permutation p-values should never be zero", Stat. Appl. Genet. Mol. Biol. 2010).
// Pure TypeScript (no addon, no node:*).
import { invalidArgument, invalidType } from '../errors.js';
import { Random } from '../data/random.js';
import { positiveInteger, requiredObject } from '../validate.js';
import { genderedTerms } from './gender-swap.js';

/** Looks a term up in an embedding table: its vector, or undefined when the table has none. */
export type EmbedFunction = (term: string) => Float32Array | Float64Array | undefined;

export interface WeatInput {
  embed: EmbedFunction;
  /** The target sets [X, Y] (e.g. male and female terms). */
  targets: readonly [readonly string[], readonly string[]];
  /** The attribute sets [A, B] (e.g. career and family words). */
  attributes: readonly [readonly string[], readonly string[]];
  /** Monte-Carlo partitions, and the most partitions enumerated exactly (default 10 000). */
  permutations?: number;
  /** Seed of the Monte-Carlo partitions (default 0). */
  seed?: number;
}

export interface WeatResult {
  /** Cohen's-d-like effect size; NaN when every target term has the same association (zero spread). */
  effectSize: number;
  /** One-sided p-value of "X is more associated with A (relative to B) than Y is". */
  pValue: number;
  /** 'exact': every partition was enumerated; 'monte-carlo': `partitions` random ones, (k+1)/(n+1). */
  pValueMethod: 'exact' | 'monte-carlo';
  /** Partitions evaluated (C(|X|+|Y|, |X|) when exact). */
  partitions: number;
  /** The paper's test statistic S = Σ_x s(x, A, B) − Σ_y s(y, A, B) (over the terms found). */
  statistic: number;
  /** mean_x s(x, A, B) − mean_y s(y, A, B), the statistic of the permutation test. */
  meanDifference: number;
  /** The terms used (found in the table), per set. */
  terms: { x: string[]; y: string[]; a: string[]; b: string[] };
  /** s(w, A, B) of each used target term, in the order of terms.x and terms.y. */
  associations: { x: Float64Array; y: Float64Array };
  /** Terms the table has no vector for: reported here and left out. */
  missing: { x: string[]; y: string[]; a: string[]; b: string[] };
}

/** Male target terms (genderedTerms().male): gendered nouns and pronouns written for dpfl. */
export const WEAT_MALE_TERMS: readonly string[] = Object.freeze(genderedTerms().male);
/** Female target terms (genderedTerms().female). */
export const WEAT_FEMALE_TERMS: readonly string[] = Object.freeze(genderedTerms().female);
/** Career words (attribute A of a WEAT-6-like test; our own list in the spirit of Caliskan et al.'s). */
export const WEAT_CAREER_TERMS: readonly string[] = Object.freeze([
  'career',
  'business',
  'office',
  'salary',
  'manager',
  'executive',
  'company',
  'professional',
  'job',
  'promotion',
]);
/** Family words (attribute B of the WEAT-6-like test). */
export const WEAT_FAMILY_TERMS: readonly string[] = Object.freeze([
  'family',
  'home',
  'children',
  'parents',
  'wedding',
  'marriage',
  'relatives',
  'cousins',
  'household',
  'kids',
]);
/** Words typical of spam (an attribute set for the spam task). */
export const WEAT_SPAM_TERMS: readonly string[] = Object.freeze([
  'free',
  'offer',
  'money',
  'cash',
  'win',
  'prize',
  'credit',
  'click',
  'guaranteed',
  'discount',
]);
/** Words typical of ordinary mail (the other attribute set for the spam task). */
export const WEAT_HAM_TERMS: readonly string[] = Object.freeze([
  'meeting',
  'project',
  'report',
  'schedule',
  'thanks',
  'attached',
  'review',
  'team',
  'agenda',
  'question',
]);

function termList(name: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw invalidType(name, 'an array of strings', value);
  value.forEach((t: unknown, i) => {
    if (typeof t !== 'string') throw invalidType(`${name}[${i}]`, 'a string', t);
  });
  return value as string[];
}

function pairOfLists(name: string, value: unknown, first: string, second: string): [string[], string[]] {
  if (!Array.isArray(value) || value.length !== 2) {
    throw invalidType(name, `a pair [${first}, ${second}] of string arrays`, value);
  }
  return [termList(`${name}[0]`, value[0]), termList(`${name}[1]`, value[1])];
}

/** Vectors of the terms the table has, unit-normalised in float64; the others listed as missing. */
class Lookup {
  dim = -1;
  constructor(private readonly embed: EmbedFunction) {}

  unitVectors(name: string, terms: string[]): { found: string[]; vectors: Float64Array[]; missing: string[] } {
    const found: string[] = [];
    const vectors: Float64Array[] = [];
    const missing: string[] = [];
    for (const term of terms) {
      const v: unknown = this.embed(term);
      if (v === undefined) {
        missing.push(term);
        continue;
      }
      const what = `embed(${JSON.stringify(term)})`;
      if (!(v instanceof Float32Array || v instanceof Float64Array)) {
        throw invalidType(what, 'a Float32Array, a Float64Array or undefined', v);
      }
      if (v.length === 0) throw invalidArgument(`${what}.length`, 'positive', 0);
      if (this.dim < 0) this.dim = v.length;
      else if (v.length !== this.dim) {
        throw invalidArgument(`${what}.length`, `the length of the other vectors (${this.dim})`, v.length);
      }
      let sq = 0;
      for (let i = 0; i < v.length; i++) {
        const x = v[i]!;
        if (!Number.isFinite(x)) throw invalidArgument(`${what}[${i}]`, 'finite', x, 'ERR_DPFL_NON_FINITE');
        sq += x * x;
      }
      // The cosine of a zero vector is undefined: refused rather than read as 0 (which would bias s toward 0).
      if (sq === 0) throw invalidArgument(what, `a non-zero vector (the cosine is undefined) for ${name}`, 'zeros');
      const inv = 1 / Math.sqrt(sq);
      vectors.push(Float64Array.from(v, (x) => x * inv));
      found.push(term);
    }
    return { found, vectors, missing };
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** s(w, A, B) for unit vectors: mean cosine with A minus mean cosine with B. */
function association(w: Float64Array, a: Float64Array[], b: Float64Array[]): number {
  let sa = 0;
  for (const v of a) sa += dot(w, v);
  let sb = 0;
  for (const v of b) sb += dot(w, v);
  return sa / a.length - sb / b.length;
}

/** C(n, k) as a float (exact while below 2^53, which is all the comparison with `permutations` needs). */
function binomial(n: number, k: number): number {
  const m = Math.min(k, n - k);
  let c = 1;
  for (let i = 1; i <= m; i++) c = (c * (n - m + i)) / i;
  return Math.round(c);
}

/** How many k-subsets of `s` have a sum ≥ threshold, enumerating every one (lexicographic index arrays). */
function exactCount(s: Float64Array, k: number, threshold: number): number {
  const n = s.length;
  const idx = Array.from({ length: k }, (_, i) => i);
  let count = 0;
  for (;;) {
    let sum = 0;
    for (let i = 0; i < k; i++) sum += s[idx[i]!]!;
    if (sum >= threshold) count++;
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return count;
    idx[i]!++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1]! + 1;
  }
}

/** How many of `draws` random k-subsets of `s` have a sum ≥ threshold (partial Fisher–Yates per draw). */
function sampledCount(s: Float64Array, k: number, threshold: number, draws: number, rng: Random): number {
  const n = s.length;
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  let count = 0;
  for (let d = 0; d < draws; d++) {
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const j = i + rng.below(n - i);
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
      sum += s[perm[i]!]!;
    }
    if (sum >= threshold) count++;
  }
  return count;
}

/**
 * WEAT effect size and permutation p-value of targets [X, Y] against attributes [A, B] in the table `embed`.
 * Terms without a vector are left out and listed in `missing`; a zero or non-finite vector, vectors of
 * different lengths, or a set left empty (X or Y with fewer than 1 term, |X| + |Y| < 3, A or B empty) is a
 * typed error. Cost: (|X| + |Y|)·(|A| + |B|) cosines and at most `permutations` partitions.
 */
export function weat(input: WeatInput): WeatResult {
  const inp = requiredObject('input', input);
  if (typeof inp.embed !== 'function') throw invalidType('embed', 'a function (term) => vector | undefined', inp.embed);
  const [xs, ys] = pairOfLists('targets', inp.targets, 'X', 'Y');
  const [as, bs] = pairOfLists('attributes', inp.attributes, 'A', 'B');
  const permutations = inp.permutations === undefined ? 10_000 : positiveInteger('permutations', inp.permutations);
  const seed = inp.seed === undefined ? 0 : inp.seed;
  if (typeof seed !== 'number') throw invalidType('seed', 'a safe integer', seed);
  if (!Number.isSafeInteger(seed)) throw invalidArgument('seed', 'a safe integer', seed);

  const lookup = new Lookup(inp.embed);
  const X = lookup.unitVectors('targets[0]', xs);
  const Y = lookup.unitVectors('targets[1]', ys);
  const A = lookup.unitVectors('attributes[0]', as);
  const B = lookup.unitVectors('attributes[1]', bs);
  const found = (name: string, set: { found: string[] }, min: number) => {
    if (set.found.length < min) {
      throw invalidArgument(`${name} (terms found in the table)`, `at least ${min}`, set.found.length);
    }
  };
  found('targets[0]', X, 1);
  found('targets[1]', Y, 1);
  found('attributes[0]', A, 1);
  found('attributes[1]', B, 1);
  const nx = X.found.length;
  const ny = Y.found.length;
  if (nx + ny < 3) {
    throw invalidArgument('targets (terms found in the table)', 'at least 3 in all (a sample spread)', nx + ny);
  }

  const sx = Float64Array.from(X.vectors, (w) => association(w, A.vectors, B.vectors));
  const sy = Float64Array.from(Y.vectors, (w) => association(w, A.vectors, B.vectors));
  const all = new Float64Array(nx + ny);
  all.set(sx);
  all.set(sy, nx);
  let sumX = 0;
  for (const v of sx) sumX += v;
  let sumY = 0;
  for (const v of sy) sumY += v;
  const n = nx + ny;
  const mean = (sumX + sumY) / n;
  let ss = 0;
  let scale = 0;
  for (const v of all) {
    ss += (v - mean) * (v - mean);
    scale += Math.abs(v);
  }
  const std = Math.sqrt(ss / (n - 1));
  const meanDifference = sumX / nx - sumY / ny;

  // mean_X' − mean_Y' grows with Σ_X' s, so partitions are compared by that sum; the slack absorbs the
  // rounding of summing the same numbers in another order (ties count as "at least").
  const threshold = sumX - 1e-12 * Math.max(scale, Number.MIN_VALUE);
  const total = binomial(n, nx);
  let pValue: number;
  let pValueMethod: WeatResult['pValueMethod'];
  let partitions: number;
  if (total <= permutations) {
    pValue = exactCount(all, nx, threshold) / total;
    pValueMethod = 'exact';
    partitions = total;
  } else {
    const k = sampledCount(all, nx, threshold, permutations, new Random(seed));
    pValue = (k + 1) / (permutations + 1);
    pValueMethod = 'monte-carlo';
    partitions = permutations;
  }
  return {
    effectSize: std > 0 ? meanDifference / std : Number.NaN,
    pValue,
    pValueMethod,
    partitions,
    statistic: sumX - sumY,
    meanDifference,
    terms: { x: X.found, y: Y.found, a: A.found, b: B.found },
    associations: { x: sx, y: sy },
    missing: { x: X.missing, y: Y.missing, a: A.missing, b: B.missing },
  };
}
