// Group fairness metrics from predictions, labels and group ids, for any model (issue 17 §1).
// Pure TypeScript (no addon, no node:* in this file).
//
// Per group g, with `positive` the positive class and every other class "negative":
//   accuracy_g     = P(ŷ = y | G = g)                 (multiclass: exact match)
//   TPR_g          = P(ŷ = pos | y = pos, G = g)      (NaN when g has no label = pos)
//   FPR_g          = P(ŷ = pos | y ≠ pos, G = g)      (NaN when g has only label = pos)
//   positiveRate_g = P(ŷ = pos | G = g)
// Over groups:
//   demographic-parity difference = max_g positiveRate_g − min_g positiveRate_g, and ratio = min / max
//     (statistical parity: Dwork, Hardt, Pitassi, Reingold and Zemel, "Fairness through awareness", ITCS 2012;
//     the ratio is the disparate-impact ratio of Feldman, Friedler, Moeller, Scheidegger and Venkatasubramanian,
//     KDD 2015; NaN when every positive rate is 0);
//   equalised-odds difference = max(max−min of TPR_g, max−min of FPR_g) (Hardt, Price and Srebro, "Equality of
//     opportunity in supervised learning", NeurIPS 2016), each spread over the groups where the rate is defined;
//   worst-group accuracy = min_g accuracy_g, and the group that attains it (the first by id on ties).
// Confidence intervals: Efron's percentile bootstrap (Efron, "Bootstrap methods: another look at the jackknife",
// Ann. Statist. 1979; Efron and Tibshirani, An Introduction to the Bootstrap, 1993, ch. 13): examples are resampled
// with replacement within each group (stratified, so each group keeps its size), the statistic is recomputed, and
// the interval is the (1−c)/2 and (1+c)/2 quantiles of the replicates (linear interpolation between order
// statistics, numpy's default). Replicates where a statistic is undefined (NaN: e.g. a resampled group with no
// positives left) are dropped; `resamples` in each interval counts those kept.
// A single group is refused: every difference needs at least two groups.
import { invalidArgument, invalidType } from '../errors.js';
import { Random } from '../data/random.js';
import { nonNegativeInteger, numberArray, openUnitInterval, optionsObject, requiredObject } from '../validate.js';
import { type MetricInterval, percentileInterval } from './bootstrap.js';

export type { MetricInterval } from './bootstrap.js';

export interface GroupMetricsInput {
  /** Predicted class per example (integers; multiclass allowed). */
  predictions: Int32Array | number[];
  /** True class per example (integers). */
  labels: Int32Array | number[];
  /** Group id per example: a non-negative integer (an index into groupNames when given). */
  groups: Int32Array | number[];
  /** The positive class for TPR, FPR and the positive rate (default 1); every other class is negative. */
  positive?: number;
  /** Display names, indexed by group id (default: the id as a string). */
  groupNames?: string[];
}

export interface GroupMetricsOptions {
  /** Bootstrap resamples (default 1000; 0: no intervals, lower/upper NaN). */
  bootstrap?: number;
  /** Confidence level of the intervals, in (0, 1) (default 0.95). */
  confidence?: number;
  /** Seed of the resampling (default 0, so a call without a seed is reproducible too). */
  seed?: number;
}

export interface GroupStats {
  id: number;
  name: string;
  n: number;
  /** Examples with label = positive. */
  positives: number;
  accuracy: MetricInterval;
  tpr: MetricInterval;
  fpr: MetricInterval;
  positiveRate: MetricInterval;
}

/** A rate that is undefined (NaN) for a group and that the differences skip. */
export interface UndefinedRate {
  group: string;
  rate: 'tpr' | 'fpr';
  reason: string;
}

export interface GroupMetricsResult {
  positive: number;
  groups: GroupStats[];
  demographicParityDifference: MetricInterval;
  demographicParityRatio: MetricInterval;
  equalizedOddsDifference: MetricInterval;
  worstGroupAccuracy: MetricInterval & { group: string };
  undefinedRates: UndefinedRate[];
  bootstrap: { resamples: number; confidence: number; seed: number };
}

// An example's cell: label positive?, prediction positive?, correct? (only a negative/negative pair can be
// either correct or not, in the multiclass case).
const TP = 0; // label pos, pred pos (correct)
const FN = 1; // label pos, pred neg
const FP = 2; // label neg, pred pos
const TN_RIGHT = 3; // label neg, pred neg, ŷ = y
const TN_WRONG = 4; // label neg, pred neg, ŷ ≠ y (another negative class)
const CELLS = 5;

type OverallKey =
  | 'demographicParityDifference'
  | 'demographicParityRatio'
  | 'equalizedOddsDifference'
  | 'worstGroupAccuracy';
type Overall = Record<OverallKey, number>;
const OVERALL_KEYS: OverallKey[] = [
  'demographicParityDifference',
  'demographicParityRatio',
  'equalizedOddsDifference',
  'worstGroupAccuracy',
];
const RATE_KEYS = ['accuracy', 'tpr', 'fpr', 'positiveRate'] as const;

interface Rates {
  accuracy: number;
  tpr: number;
  fpr: number;
  positiveRate: number;
}

function ratesOf(c: Float64Array, offset: number): Rates {
  const at = (cellIndex: number): number => c[offset + cellIndex]!;
  const [tp, fn, fp, tnr, tnw] = [at(TP), at(FN), at(FP), at(TN_RIGHT), at(TN_WRONG)];
  const n = tp + fn + fp + tnr + tnw;
  const pos = tp + fn;
  const neg = n - pos;
  return {
    accuracy: (tp + tnr) / n,
    tpr: pos > 0 ? tp / pos : Number.NaN,
    fpr: neg > 0 ? fp / neg : Number.NaN,
    positiveRate: (tp + fp) / n,
  };
}

/** max − min over the defined (non-NaN) values; NaN when fewer than two are defined. */
function spread(values: number[]): number {
  const v = values.filter((x) => !Number.isNaN(x));
  if (v.length < 2) return Number.NaN;
  return Math.max(...v) - Math.min(...v);
}

/** The statistics of one table of cell counts: per-group rates, then the four overall values. */
function statistics(counts: Float64Array, groupCount: number): { rates: Rates[]; overall: Overall } {
  const rates: Rates[] = [];
  for (let g = 0; g < groupCount; g++) rates.push(ratesOf(counts, g * CELLS));
  const pr = rates.map((r) => r.positiveRate);
  const maxPr = Math.max(...pr);
  const tprSpread = spread(rates.map((r) => r.tpr));
  const fprSpread = spread(rates.map((r) => r.fpr));
  const eo = Number.isNaN(tprSpread) ? fprSpread : Number.isNaN(fprSpread) ? tprSpread : Math.max(tprSpread, fprSpread);
  return {
    rates,
    overall: {
      demographicParityDifference: maxPr - Math.min(...pr),
      demographicParityRatio: maxPr > 0 ? Math.min(...pr) / maxPr : Number.NaN,
      equalizedOddsDifference: eo,
      worstGroupAccuracy: Math.min(...rates.map((r) => r.accuracy)),
    },
  };
}

/** An array or typed array of safe integers, copied once. */
function integers(name: string, value: unknown): Float64Array {
  const a = numberArray(name, value, 'an array or typed array of integers');
  for (let i = 0; i < a.length; i++) {
    if (!Number.isSafeInteger(a[i]!)) throw invalidArgument(`${name}[${i}]`, 'an integer', a[i]);
  }
  return a;
}

/**
 * Per-group accuracy, TPR, FPR and positive-prediction rate, and the demographic-parity difference and ratio, the
 * equalised-odds difference and the worst-group accuracy, each with a stratified percentile bootstrap interval.
 * Throws a typed error for unequal lengths, non-integer or negative ids, no examples, or fewer than 2 groups.
 * Cost: O(n · bootstrap) uniform draws (about 0.7 s for n = 10⁴ and 1000 resamples on one core).
 */
export function groupMetrics(input: GroupMetricsInput, options?: GroupMetricsOptions): GroupMetricsResult {
  const inp = requiredObject('input', input);
  const opts = optionsObject('options', options);
  const predictions = integers('predictions', inp.predictions);
  const labels = integers('labels', inp.labels);
  const groups = integers('groups', inp.groups);
  const n = predictions.length;
  if (n === 0) throw invalidArgument('predictions.length', 'positive', 0);
  if (labels.length !== n) throw invalidArgument('labels.length', `predictions.length (${n})`, labels.length);
  if (groups.length !== n) throw invalidArgument('groups.length', `predictions.length (${n})`, groups.length);
  const positive = inp.positive === undefined ? 1 : inp.positive;
  if (typeof positive !== 'number') throw invalidType('positive', 'an integer', positive);
  if (!Number.isSafeInteger(positive)) throw invalidArgument('positive', 'an integer', positive);
  const resamples = opts.bootstrap === undefined ? 1000 : nonNegativeInteger('bootstrap', opts.bootstrap);
  const confidence = opts.confidence === undefined ? 0.95 : openUnitInterval('confidence', opts.confidence);
  const seed = opts.seed === undefined ? 0 : opts.seed;
  if (typeof seed !== 'number') throw invalidType('seed', 'a safe integer', seed);
  if (!Number.isSafeInteger(seed)) throw invalidArgument('seed', 'a safe integer', seed);

  // Group ids, sorted, and each example's dense group index.
  for (let i = 0; i < n; i++) {
    if (groups[i]! < 0) throw invalidArgument(`groups[${i}]`, 'a non-negative integer', groups[i]);
  }
  const ids = [...new Set(groups)].sort((a, b) => a - b);
  if (ids.length < 2)
    throw invalidArgument('groups', 'at least 2 distinct group ids (every difference compares groups)', ids.length);
  const names = groupNamesOf(inp.groupNames, ids);
  const dense = new Map(ids.map((id, k) => [id, k]));
  const G = ids.length;

  // Each example's cell, and the examples of each group (for stratified resampling).
  const cell = new Uint8Array(n);
  const members: number[][] = ids.map(() => []);
  const counts = new Float64Array(G * CELLS);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const yhat = predictions[i]!;
    const lp = y === positive;
    const pp = yhat === positive;
    const c = lp ? (pp ? TP : FN) : pp ? FP : yhat === y ? TN_RIGHT : TN_WRONG;
    const g = dense.get(groups[i]!)!;
    cell[i] = c;
    members[g]!.push(i);
    counts[g * CELLS + c]!++;
  }
  const point = statistics(counts, G);

  // Replicates of each group's four rates and of the four overall statistics.
  const groupReplicates = ids.map(() => ({
    accuracy: new Float64Array(resamples),
    tpr: new Float64Array(resamples),
    fpr: new Float64Array(resamples),
    positiveRate: new Float64Array(resamples),
  }));
  const overallReplicates = Object.fromEntries(OVERALL_KEYS.map((k) => [k, new Float64Array(resamples)])) as Record<
    OverallKey,
    Float64Array
  >;
  const rng = new Random(seed);
  const boot = new Float64Array(G * CELLS);
  for (let b = 0; b < resamples; b++) {
    boot.fill(0);
    members.forEach((m, g) => {
      for (let j = 0; j < m.length; j++) boot[g * CELLS + cell[m[rng.below(m.length)]!]!]!++;
    });
    const s = statistics(boot, G);
    s.rates.forEach((r, g) => {
      for (const k of RATE_KEYS) groupReplicates[g]![k][b] = r[k];
    });
    for (const k of OVERALL_KEYS) overallReplicates[k][b] = s.overall[k];
  }

  const undefinedRates: UndefinedRate[] = [];
  const groupStats = point.rates.map((r, g): GroupStats => {
    const name = names[g]!;
    const pos = counts[g * CELLS + TP]! + counts[g * CELLS + FN]!;
    const size = members[g]!.length;
    if (pos === 0) undefinedRates.push({ group: name, rate: 'tpr', reason: `no example with label ${positive}` });
    if (pos === size) undefinedRates.push({ group: name, rate: 'fpr', reason: `every label is ${positive}` });
    const rep = groupReplicates[g]!;
    return {
      id: ids[g]!,
      name,
      n: size,
      positives: pos,
      accuracy: percentileInterval(r.accuracy, rep.accuracy, confidence),
      tpr: percentileInterval(r.tpr, rep.tpr, confidence),
      fpr: percentileInterval(r.fpr, rep.fpr, confidence),
      positiveRate: percentileInterval(r.positiveRate, rep.positiveRate, confidence),
    };
  });
  const o = point.overall;
  const ci = (k: OverallKey) => percentileInterval(o[k], overallReplicates[k], confidence);
  const worstIndex = point.rates.findIndex((r) => r.accuracy === o.worstGroupAccuracy);
  return {
    positive,
    groups: groupStats,
    demographicParityDifference: ci('demographicParityDifference'),
    demographicParityRatio: ci('demographicParityRatio'),
    equalizedOddsDifference: ci('equalizedOddsDifference'),
    worstGroupAccuracy: { ...ci('worstGroupAccuracy'), group: names[worstIndex]! },
    undefinedRates,
    bootstrap: { resamples, confidence, seed },
  };
}

/** The display name of each present group id: groupNames[id], or the id as a string. */
function groupNamesOf(groupNames: unknown, ids: number[]): string[] {
  if (groupNames === undefined) return ids.map(String);
  if (!Array.isArray(groupNames)) throw invalidType('groupNames', 'an array of strings', groupNames);
  return ids.map((id) => {
    if (id >= groupNames.length)
      throw invalidArgument('groupNames.length', `> every group id (${id})`, groupNames.length);
    const name: unknown = groupNames[id];
    if (typeof name !== 'string') throw invalidType(`groupNames[${id}]`, 'a string', name);
    return name;
  });
}
