// The one-run privacy audit of Steinke, Nasr and Jagielski 2023 ("Privacy Auditing with One (1)
// Training Run", NeurIPS). m canaries are each included in the training data independently
// with probability ½ (S ∈ {−1, +1}^m uniform, drawn by the auditor); after the one run the
// attacker makes r guesses from the output alone (abstaining on the other m − r canaries) and
// v of them are right. If the training algorithm is ε-DP with respect to each canary, the
// number right is stochastically dominated by Binomial(r, e^ε/(1 + e^ε)) (§3, Theorem 3.1); if
// it is (ε, δ)-DP, with f(v) = P[Binomial(r, q) ≥ v], q = e^ε/(1 + e^ε) (§5, Theorem 5.2),
//   P[W ≥ v] ≤ f(v) + 2mδ · max_{1≤i≤v} (f(v − i) − f(v)) / i,
// which is the p-value of "the algorithm is (ε, δ)-DP" given v correct of r, computed as the
// paper's own listing does (β = f(v); α = max_i P[v − i ≤ B < v]/i; p = min(1, β + 2mδα)).
// The ε lower bound at confidence c is the largest ε whose p-value stays below 1 − c. No
// independence between the canaries' outcomes is assumed: the randomness is the auditor's
// coin flips, and the bound holds for any (adaptive) attacker that guesses from the output.
import { Random, SecureRandom } from '../data/random.js';
import { invalidArgument, invalidType } from '../errors.js';
import { binomialLogPmf } from './binomial.js';
import { integerIn, MAX_ARRAY_LENGTH, openUnitInterval, outOfMemory, unitInterval } from '../validate.js';
import type { Membership, Scores } from './roc.js';
import { labelArray, scoreArray } from './validate.js';

/** What the one-run bound assumes (carried into reports and --json). */
export const ONE_RUN_ASSUMPTIONS =
  'Steinke, Nasr and Jagielski 2023 (one run; Thm 3.1, Thm 5.2): each of the m canaries was included ' +
  "independently with probability 1/2 by the auditor's own random draw; the guesses depend only on the trained " +
  'output (and on randomness independent of that draw); the claim tested is (ε, δ)-DP with respect to adding ' +
  'or removing one canary.';

export interface OneRunCounts {
  /** m: canaries, each included independently with probability ½. */
  canaries: number;
  /** r: guesses made (the rest abstained). */
  guesses: number;
  /** v: correct guesses. */
  correct: number;
}

function checkCounts(counts: OneRunCounts): { m: number; r: number; v: number } {
  if (typeof counts !== 'object' || counts === null || Array.isArray(counts) || ArrayBuffer.isView(counts)) {
    throw invalidType('counts', 'an object { canaries, guesses, correct }', counts);
  }
  const m = integerIn('canaries', counts.canaries, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
  // Beyond 2^32 guesses the exact binomial sums (O(√r) terms per p-value) would take minutes.
  const maxGuesses = Math.min(m, 2 ** 32);
  const upTo = m <= 2 ** 32 ? `canaries = ${m}` : '2^32';
  const r = integerIn('guesses', counts.guesses, 0, maxGuesses, `an integer in [0, ${upTo}]`);
  const v = integerIn('correct', counts.correct, 0, r, `an integer in [0, guesses = ${r}]`);
  return { m, r, v };
}

/** Relative size below which a tail's remaining terms no longer change a float64 sum. */
const NEGLIGIBLE = 2 ** -60;

/**
 * P[B ≥ v] for B ~ Binomial(r, q), summing the smaller tail away from the mode (terms shrink
 * geometrically there, so the sum stops once the rest cannot change it).
 */
function upperTail(v: number, r: number, logQ: number, log1mQ: number): number {
  if (v <= 0) return 1;
  if (v > r) return 0;
  const logOdds = logQ - log1mQ;
  const q = Math.exp(logQ);
  if (v > r * q) {
    let lt = binomialLogPmf(v, r, logQ, log1mQ);
    let sum = 0;
    for (let k = v; k <= r; k++) {
      const term = Math.exp(lt);
      sum += term;
      if (k === r) break;
      const logRatio = Math.log((r - k) / (k + 1)) + logOdds;
      const ratio = Math.exp(logRatio);
      // Beyond the mode the ratio of successive terms falls: the rest is below term·ratio/(1 − ratio).
      if (ratio < 1 && term * ratio <= NEGLIGIBLE * sum * (1 - ratio)) break;
      if (term === 0 && ratio < 1) break;
      lt += logRatio;
    }
    return Math.min(1, sum);
  }
  // v − 1 lies at or below the mode: 1 − P[B ≤ v − 1], summing downwards from v − 1.
  let lt = binomialLogPmf(v - 1, r, logQ, log1mQ);
  let sum = 0;
  for (let k = v - 1; k >= 0; k--) {
    const term = Math.exp(lt);
    sum += term;
    if (k === 0) break;
    const logRatio = Math.log(k / (r - k + 1)) - logOdds;
    const ratio = Math.exp(logRatio);
    if (ratio < 1 && term * ratio <= NEGLIGIBLE * sum * (1 - ratio)) break;
    if (term === 0 && ratio < 1) break;
    lt += logRatio;
  }
  return Math.max(0, 1 - sum);
}

/**
 * α = max_{1≤i≤v} P[v − i ≤ B < v] / i (the paper's listing). Terms pmf(v − i) are generated in
 * log space (the first ones may underflow while later ones matter). Once v − i is at or below
 * the mode the terms only shrink, and once a term is at most the running average the average
 * can only fall from there on, so the loop stops: the same maximum as running i to v.
 */
function alphaTerm(v: number, r: number, logQ: number, log1mQ: number): number {
  if (v <= 0) return 0;
  const logOdds = logQ - log1mQ;
  const modeBound = (r + 1) * Math.exp(logQ);
  // Above the mode the terms grow as k falls; those with ln pmf < −746 are exactly 0 in float64
  // and add nothing, so the loop starts at the first term that is not (found by bisection:
  // ln pmf is monotone between the mode and v − 1). Same result, O(√r) terms instead of O(r).
  let first = 1;
  const zero = -746;
  if (binomialLogPmf(v - 1, r, logQ, log1mQ) < zero && v - 1 > modeBound) {
    let hi = v - 1; // ln pmf(hi) < zero
    let lo = Math.max(0, Math.floor(modeBound)); // ln pmf at the mode ≥ −ln(r + 1) > zero
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (binomialLogPmf(mid, r, logQ, log1mQ) < zero) hi = mid;
      else lo = mid;
    }
    first = v - hi;
  }
  let lt = binomialLogPmf(v - first, r, logQ, log1mQ);
  let sum = 0;
  let alpha = 0;
  for (let i = first; i <= v; i++) {
    const k = v - i;
    const term = Math.exp(lt);
    sum += term;
    if (sum > i * alpha) alpha = sum / i;
    if (k <= modeBound && term * i <= sum) break;
    if (k === 0) break;
    lt += Math.log(k / (r - k + 1)) - logOdds;
  }
  return alpha;
}

/**
 * The p-value of "(ε, δ)-DP" given v correct of r guesses on m canaries: an upper bound on the
 * probability of v or more correct under any (ε, δ)-DP algorithm (Steinke et al. 2023, §5,
 * Theorem 5.2; with δ = 0 the pure-DP Theorem 3.1). In [0, 1].
 */
export function oneRunPValue(counts: OneRunCounts, epsilon: number, delta: number): number {
  const { m, r, v } = checkCounts(counts);
  if (typeof epsilon !== 'number') throw invalidType('epsilon', 'a number', epsilon);
  if (!(epsilon >= 0)) throw invalidArgument('epsilon', 'a non-negative number', epsilon);
  unitInterval('delta', delta);
  return pValue(m, r, v, epsilon, delta);
}

function pValue(m: number, r: number, v: number, epsilon: number, delta: number): number {
  // q = e^ε/(1 + e^ε), the accuracy of ε-DP randomized response, kept as ln q and ln(1 − q).
  const logQ = -Math.log1p(Math.exp(-epsilon));
  const log1mQ = epsilon === Infinity ? -Infinity : -epsilon - Math.log1p(Math.exp(-epsilon));
  const beta = upperTail(v, r, logQ, log1mQ);
  if (delta === 0 || beta >= 1) return Math.min(1, beta);
  return Math.min(1, beta + 2 * m * delta * alphaTerm(v, r, logQ, log1mQ));
}

export interface OneRunEpsilon extends OneRunCounts {
  analysis: 'one-run';
  /** The certified lower bound: the run is not (ε', δ)-DP for any ε' < epsilon (0 when nothing is certified). */
  epsilon: number;
  /** The p-value at `epsilon` (below 1 − confidence whenever epsilon > 0). */
  pValue: number;
  delta: number;
  confidence: number;
}

/**
 * The ε lower bound of the one-run audit: the largest ε (to 1e-12, by bisection) at which the
 * p-value of v correct out of r stays below 1 − confidence. The bisection returns a point whose
 * own p-value is below the level, so the bound is valid even where the p-value is not monotone
 * in ε ((ε, δ)-DP implies (ε', δ)-DP for every ε' ≥ ε).
 */
export function oneRunEpsilon(counts: OneRunCounts, options: { delta: number; confidence?: number }): OneRunEpsilon {
  const { m, r, v } = checkCounts(counts);
  if (typeof options !== 'object' || options === null) {
    throw invalidType('options', 'an object { delta, confidence? }', options);
  }
  const delta = unitInterval('delta', options.delta);
  const confidence = openUnitInterval('confidence', options.confidence ?? 0.95);
  const level = 1 - confidence;
  const result = (epsilon: number, p: number): OneRunEpsilon => ({
    analysis: 'one-run',
    canaries: m,
    guesses: r,
    correct: v,
    epsilon,
    pValue: p,
    delta,
    confidence,
  });
  const p0 = pValue(m, r, v, 0, delta);
  if (!(p0 < level)) return result(0, p0);
  let lo = 0;
  let pLo = p0;
  let hi = 1;
  // As ε → ∞, q → 1 and P[Binomial(r, q) ≥ v] → 1, so an upper end exists.
  for (let pHi = pValue(m, r, v, hi, delta); pHi < level; pHi = pValue(m, r, v, hi, delta)) {
    lo = hi;
    pLo = pHi;
    hi *= 2;
  }
  while (hi - lo > 1e-12 * Math.max(1, hi)) {
    const mid = 0.5 * (lo + hi);
    const p = pValue(m, r, v, mid, delta);
    if (p < level) {
      lo = mid;
      pLo = p;
    } else hi = mid;
  }
  return result(lo, pLo);
}

/** One guessing rule: the k₊ highest scores guessed "member", the k₋ lowest "non-member". */
export interface GuessCounts {
  positive: number;
  negative: number;
}

export interface OneRunAudit extends OneRunEpsilon {
  /** The guessing rule that certified the bound. */
  positiveGuesses: number;
  negativeGuesses: number;
  /** How many guessing rules were tried; each was tested at (1 − confidence)/rules (Bonferroni). */
  rules: number;
  assumptions: string;
}

/** Scores and 0/1 labels of equal length; unlike ROC metrics, one class may be empty (a fair draw can give that). */
function checkMembership(scores: unknown, labels: unknown): { scores: Float64Array; labels: Uint8Array } {
  const s = scoreArray('scores', scores);
  const out = labelArray('membership', labels);
  if (out.length !== s.length) {
    throw invalidArgument('membership.length', `the length of scores (${s.length})`, out.length);
  }
  if (out.length === 0) throw invalidArgument('scores', 'a non-empty array (one score per canary)', scores);
  return { scores: s, labels: out };
}

/** 1, 2, 5, 10, 20, 50, … up to `max`. */
function oneTwoFive(max: number): number[] {
  const out: number[] = [];
  for (let decade = 1; decade <= max; decade *= 10) {
    for (const f of [1, 2, 5]) if (f * decade <= max) out.push(f * decade);
  }
  return out;
}

/**
 * The default rules, fixed before looking at membership: guess the top k members and the bottom
 * k non-members, and the top k members alone, for k in 1, 2, 5, 10, … .
 */
export function defaultGuessRules(canaries: number): GuessCounts[] {
  integerIn('canaries', canaries, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
  const rules: GuessCounts[] = oneTwoFive(Math.floor(canaries / 2)).map((k) => ({ positive: k, negative: k }));
  for (const k of oneTwoFive(canaries)) rules.push({ positive: k, negative: 0 });
  return rules;
}

/**
 * The one-run audit from membership scores (higher = more likely a member): each canary's
 * membership must have been drawn independently with probability ½ (the caller's duty; see
 * ONE_RUN_ASSUMPTIONS). Every rule is evaluated and the largest bound reported, each at
 * confidence 1 − (1 − confidence)/rules so that all hold together (union bound). Ties in the
 * scores are broken by index, which is fixed before the membership draw.
 */
export function oneRunAudit(
  scores: Scores,
  membership: Membership,
  options: { delta: number; confidence?: number; rules?: readonly GuessCounts[] },
): OneRunAudit {
  const { scores: s, labels } = checkMembership(scores, membership);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidType('options', 'an object { delta, confidence?, rules? }', options);
  }
  const delta = unitInterval('delta', options.delta);
  const confidence = openUnitInterval('confidence', options.confidence ?? 0.95);
  const m = labels.length;
  const rules = options.rules ?? defaultGuessRules(m);
  if (!Array.isArray(rules)) throw invalidType('rules', 'a non-empty list of { positive, negative }', rules);
  if (rules.length === 0) throw invalidArgument('rules', 'a non-empty list of { positive, negative }', rules);
  // Read each rule once (a getter could answer differently the second time).
  const checked = Array.from(rules as unknown[], (rule, i): GuessCounts => {
    if (typeof rule !== 'object' || rule === null) {
      throw invalidType(`rules[${i}]`, 'an object { positive, negative }', rule);
    }
    const { positive: p, negative: n } = rule as Record<string, unknown>;
    const positive = integerIn(`rules[${i}].positive`, p, 0, m, `an integer in [0, ${m}]`);
    const negative = integerIn(`rules[${i}].negative`, n, 0, m, `an integer in [0, ${m}]`);
    if (positive + negative > m) {
      throw invalidArgument(`rules[${i}]`, `at most ${m} guesses in all`, positive + negative);
    }
    return { positive, negative };
  });
  const order = Int32Array.from({ length: m }, (_, i) => i).sort((a, b) => s[b]! - s[a]! || a - b);
  // membersInTop[k]: members among the k highest scores.
  const membersInTop = new Int32Array(m + 1);
  for (let k = 0; k < m; k++) membersInTop[k + 1] = membersInTop[k]! + labels[order[k]!]!;
  const perRule = 1 - (1 - confidence) / checked.length;
  let best: OneRunAudit | undefined;
  for (const rule of checked) {
    const { positive, negative } = rule;
    const nonMembersInBottom = negative - (membersInTop[m]! - membersInTop[m - negative]!);
    const counts = { canaries: m, guesses: positive + negative, correct: membersInTop[positive]! + nonMembersInBottom };
    const bound = oneRunEpsilon(counts, { delta, confidence: perRule });
    if (best === undefined || bound.epsilon > best.epsilon) {
      best = {
        ...bound,
        confidence,
        positiveGuesses: positive,
        negativeGuesses: negative,
        rules: checked.length,
        assumptions: ONE_RUN_ASSUMPTIONS,
      };
    }
  }
  return best!;
}

/**
 * Independent Bernoulli(½) inclusion flags for m canaries, as the one-run analysis requires.
 * `source`: a seed (xoshiro128**, reproducible: experiments), a generator (`Random`,
 * `SecureRandom`), or nothing for the OS CSPRNG; record which one was used.
 */
export function drawMembership(m: number, source?: number | { nextUint32(): number }): Uint8Array {
  integerIn('m', m, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
  if (m > MAX_ARRAY_LENGTH) throw invalidArgument('m', `at most ${MAX_ARRAY_LENGTH} canaries`, m);
  let rng: { nextUint32(): number };
  if (source === undefined) rng = new SecureRandom();
  else if (typeof source === 'number') {
    if (!Number.isSafeInteger(source) || source < 0) {
      throw invalidArgument('source', 'a non-negative integer seed or a generator', source);
    }
    rng = new Random(source);
  } else if (typeof source === 'object' && source !== null && typeof source.nextUint32 === 'function') rng = source;
  else throw invalidType('source', 'a seed, a generator with nextUint32() or undefined', source);
  let flags: Uint8Array;
  try {
    flags = new Uint8Array(m);
  } catch (e) {
    throw outOfMemory('membership', m, e);
  }
  if (rng === source) {
    // A caller's generator: each draw must be a uint32 (a Symbol or object would throw untyped below).
    for (let i = 0; i < m; i++) {
      const u: unknown = rng.nextUint32();
      if (typeof u !== 'number') throw invalidType('source.nextUint32()', 'a number', u);
      flags[i] = u >>> 31;
    }
    return flags;
  }
  for (let i = 0; i < m; i++) flags[i] = rng.nextUint32() >>> 31;
  return flags;
}
