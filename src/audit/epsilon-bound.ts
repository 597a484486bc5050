// Empirical lower bounds on ε from INDEPENDENT TRIALS of a distinguishing attack (Jagielski, Ullman and Oprea 2020,
// "Auditing Differentially Private Machine Learning: How Private is Private SGD?", NeurIPS, §3;
// Nasr, Song, Thakurta, Papernot and Carlini 2021, "Adversary Instantiation: Lower Bounds for
// Differentially Private Machine Learning", S&P). An (ε, δ)-DP mechanism forces every test of
// "member" vs "non-member" to satisfy (Kairouz, Oh and Viswanath 2015)
//   TPR ≤ e^ε · FPR + δ   and   TNR ≤ e^ε · FNR + δ,
// so an attack with measured rates certifies
//   ε ≥ max( ln((TPR − δ) / FPR), ln((TNR − δ) / FNR) ).
// The rates are replaced by Clopper–Pearson bounds (lower for the numerator, upper for the
// denominator): each 95 % two-sided interval misses on its side with probability ≤ 2.5 %, so
// both bounds of one direction hold together with probability ≥ 95 % (union bound) and the
// reported ε is a lower bound at 95 % confidence. The threshold must not be chosen on the
// trials it is evaluated on (multiple comparisons): `empiricalEpsilon` picks threshold and
// direction on one half of the trials and evaluates on the other half, as Jagielski et al. do.
// What this assumes: every trial is an independent run of the mechanism on one of two
// neighbouring inputs (a fresh coin for membership, fresh noise) — the many-runs / shadow-model
// setting, or a mechanism cheap enough to run thousands of times (gaussian-audit.ts). The
// examples of ONE training run are not such trials (their outcomes share one run's noise, and a
// δ-event can expose all of them at once): for one run use one-run.ts (Steinke, Nasr and
// Jagielski 2023), which runAudit reports.
import { invalidArgument } from '../errors.js';
import { integerIn, numberWhere, openUnitInterval, requiredObject } from '../validate.js';
import { clopperPearson } from './clopper-pearson.js';
import { checkScores, type Membership, type Scores } from './roc.js';

export interface AttackCounts {
  /** Members flagged as members, out of `members`. */
  truePositives: number;
  members: number;
  /** Non-members flagged as members, out of `nonMembers`. */
  falsePositives: number;
  nonMembers: number;
}

export interface EpsilonBound {
  /** The certified lower bound (0 when the attack certifies nothing). */
  epsilon: number;
  /** 'positive': ln((TPR − δ)/FPR); 'negative': ln((TNR − δ)/FNR). */
  direction: 'positive' | 'negative';
}

function checkDelta(delta: unknown): number {
  return numberWhere('delta', delta, (d) => d >= 0 && d < 1, 'in [0, 1)', 'a number in [0, 1)');
}

function checkConfidence(confidence: unknown): number {
  return confidence === undefined ? 0.95 : openUnitInterval('confidence', confidence);
}

function logRatio(numeratorLower: number, delta: number, denominatorUpper: number): number {
  const num = numeratorLower - delta;
  if (!(num > 0)) return 0;
  return Math.max(0, Math.log(num / denominatorUpper));
}

/** The ε lower bound certified by one attack (one threshold) at the given confidence. */
export function epsilonFromCounts(counts: AttackCounts, delta: number, confidence = 0.95): EpsilonBound {
  const c = requiredObject('counts', counts);
  const p = integerIn('counts.members', c.members, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
  const tp = integerIn('counts.truePositives', c.truePositives, 0, p, `an integer in [0, members = ${p}]`);
  const n = integerIn('counts.nonMembers', c.nonMembers, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
  const fp = integerIn('counts.falsePositives', c.falsePositives, 0, n, `an integer in [0, nonMembers = ${n}]`);
  return boundFromCounts(
    { truePositives: tp, members: p, falsePositives: fp, nonMembers: n },
    checkDelta(delta),
    checkConfidence(confidence),
  );
}

/** epsilonFromCounts without the checks (the threshold search calls it once per distinct score). */
function boundFromCounts(counts: AttackCounts, delta: number, confidence: number): EpsilonBound {
  const { truePositives: tp, members: p, falsePositives: fp, nonMembers: n } = counts;
  const tpr = clopperPearson(tp, p, confidence);
  const fpr = clopperPearson(fp, n, confidence);
  const fnr = clopperPearson(p - tp, p, confidence);
  const tnr = clopperPearson(n - fp, n, confidence);
  const positive = logRatio(tpr.lower, delta, fpr.upper);
  const negative = logRatio(tnr.lower, delta, fnr.upper);
  return positive >= negative
    ? { epsilon: positive, direction: 'positive' }
    : { epsilon: negative, direction: 'negative' };
}

/** Counts of the attack "score ≥ threshold ⇒ member". */
export function countsAt(
  scores: Scores,
  labels: Uint8Array,
  threshold: number,
  rows?: ArrayLike<number>,
): AttackCounts {
  const c = { truePositives: 0, members: 0, falsePositives: 0, nonMembers: 0 };
  const count = rows ? rows.length : labels.length;
  for (let j = 0; j < count; j++) {
    const i = rows ? rows[j]! : j;
    const flagged = scores[i]! >= threshold;
    if (labels[i] === 1) {
      c.members++;
      if (flagged) c.truePositives++;
    } else {
      c.nonMembers++;
      if (flagged) c.falsePositives++;
    }
  }
  return c;
}

/** The threshold (among the given rows' scores) whose counts certify the largest ε. */
export function bestThreshold(
  scores: Scores,
  labels: Uint8Array,
  rows: ArrayLike<number>,
  delta: number,
  confidence: number,
): { threshold: number; bound: EpsilonBound } {
  const order = Array.from(rows).sort((a, b) => scores[b]! - scores[a]!);
  let members = 0;
  for (const i of order) members += labels[i]!;
  const nonMembers = order.length - members;
  let best = { threshold: Infinity, bound: { epsilon: 0, direction: 'positive' } as EpsilonBound };
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < order.length; ) {
    const s = scores[order[j]!]!;
    while (j < order.length && scores[order[j]!]! === s) {
      if (labels[order[j]!] === 1) tp++;
      else fp++;
      j++;
    }
    const bound = boundFromCounts({ truePositives: tp, members, falsePositives: fp, nonMembers }, delta, confidence);
    if (bound.epsilon > best.bound.epsilon) best = { threshold: s, bound };
  }
  return best;
}

/** What the independent-trials bound assumes (carried into reports and --json). */
export const INDEPENDENT_TRIALS_ASSUMPTIONS =
  'Clopper–Pearson on TPR/FPR (Jagielski et al. 2020): every trial is an independent run of the mechanism on ' +
  'one of two neighbouring inputs, chosen at random; the threshold is chosen on half of the trials. Not valid ' +
  'for the examples of one training run.';

export interface EmpiricalEpsilon extends EpsilonBound {
  analysis: 'independent-trials';
  /** The threshold chosen on the selection half. */
  threshold: number;
  /** Counts on the evaluation half at that threshold. */
  counts: AttackCounts;
  delta: number;
  confidence: number;
}

/**
 * ε lower bound from independent trials: trial i is one run of the mechanism with input
 * `labels[i]` (1 = with the audited record, 0 = without) and attack score `scores[i]`. The
 * threshold is chosen on the even-indexed trials of each class, the bound computed on the
 * odd-indexed ones (Jagielski et al. 2020). Valid only when the trials are independent runs (see
 * INDEPENDENT_TRIALS_ASSUMPTIONS); the examples of one training run are not: use oneRunAudit.
 */
export function independentTrialsEpsilon(
  scores: Scores,
  labels: Membership,
  options: { delta: number; confidence?: number },
): EmpiricalEpsilon {
  const { scores: s, labels: lab } = checkScores(scores, labels);
  const o = requiredObject('options', options);
  const delta = checkDelta(o.delta);
  const confidence = checkConfidence(o.confidence);
  const select: number[] = [];
  const evaluate: number[] = [];
  const seen = [0, 0];
  for (let i = 0; i < lab.length; i++) {
    const c = lab[i]!;
    (seen[c]! % 2 === 0 ? select : evaluate).push(i);
    seen[c]!++;
  }
  if (seen[0]! < 2 || seen[1]! < 2)
    throw invalidArgument(
      'labels',
      'at least 2 members and 2 non-members',
      `${seen[1]} members, ${seen[0]} non-members`,
    );
  const { threshold, bound: chosen } = bestThreshold(s, lab, select, delta, confidence);
  const counts = countsAt(s, lab, threshold, evaluate);
  const evaluated = boundFromCounts(counts, delta, confidence);
  // Evaluate only the direction chosen on the selection half (choosing again would reuse the data).
  const dirBound =
    evaluated.direction === chosen.direction
      ? evaluated.epsilon
      : directionBound(counts, delta, confidence, chosen.direction);
  const direction = chosen.direction;
  return { analysis: 'independent-trials', epsilon: dirBound, direction, threshold, counts, delta, confidence };
}

/**
 * @deprecated The same function as `independentTrialsEpsilon` under its old name: a bound for
 * independent runs of a mechanism, not for the examples of one training run (use `oneRunAudit`).
 */
export const empiricalEpsilon = independentTrialsEpsilon;

function directionBound(
  c: AttackCounts,
  delta: number,
  confidence: number,
  direction: 'positive' | 'negative',
): number {
  if (direction === 'positive')
    return logRatio(
      clopperPearson(c.truePositives, c.members, confidence).lower,
      delta,
      clopperPearson(c.falsePositives, c.nonMembers, confidence).upper,
    );
  return logRatio(
    clopperPearson(c.nonMembers - c.falsePositives, c.nonMembers, confidence).lower,
    delta,
    clopperPearson(c.members - c.truePositives, c.members, confidence).upper,
  );
}
