// ROC curve of a membership score and the summary metrics of membership inference. A score is
// "higher = more likely a member"; label 1 marks members, 0 non-members. The attack that flags
// every example with score ≥ t has TPR(t) = members flagged / members and FPR(t) = non-members
// flagged / non-members; the curve runs over every distinct score from (0, 0) to (1, 1).
//   AUC: area under the curve by trapezoids (ties count one half: the Mann–Whitney statistic).
//   TPR at low FPR: the largest TPR with FPR ≤ target, the metric Carlini et al. 2022
//     ("Membership Inference Attacks From First Principles", S&P) argue for.
//   Advantage: max_t TPR − FPR (Yeom et al. 2018, "Privacy Risk in Machine Learning", CSF).
//   Balanced accuracy: max_t (TPR + TNR) / 2 = (1 + advantage) / 2.
import { invalidArgument } from '../errors.js';
import { labelArray, rocValue, scoreArray } from './validate.js';
import { numberWhere } from '../validate.js';

export interface RocCurve {
  /** Per point: flag scores ≥ threshold (the first point, +Infinity, flags nothing). */
  thresholds: Float64Array;
  /** Members flagged at each point. */
  truePositives: Int32Array;
  /** Non-members flagged at each point. */
  falsePositives: Int32Array;
  tpr: Float64Array;
  fpr: Float64Array;
  members: number;
  nonMembers: number;
}

export type Scores = ArrayLike<number>;
export type Membership = ArrayLike<number | boolean>;

/** Checks scores and labels once: the scores as float64 (none NaN), the labels as 0/1 bytes, both classes present. */
export function checkScores(scores: unknown, labels: unknown): { scores: Float64Array; labels: Uint8Array } {
  const s = scoreArray('scores', scores);
  const out = labelArray('labels', labels);
  if (out.length !== s.length) throw invalidArgument('labels.length', `the length of scores (${s.length})`, out.length);
  let members = 0;
  for (let i = 0; i < out.length; i++) members += out[i]!;
  if (members === 0 || members === out.length) {
    throw invalidArgument('labels', 'both members (1) and non-members (0)', `${members} members of ${out.length}`);
  }
  return { scores: s, labels: out };
}

export function rocCurve(scoresIn: Scores, labelsIn: Membership): RocCurve {
  const { scores, labels: lab } = checkScores(scoresIn, labelsIn);
  const n = lab.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let members = 0;
  for (const l of lab) members += l;
  const nonMembers = n - members;
  const thresholds = [Infinity];
  const tp = [0];
  const fp = [0];
  let t = 0;
  let f = 0;
  for (let i = 0; i < n; ) {
    const s = scores[order[i]!]!;
    while (i < n && scores[order[i]!]! === s) {
      if (lab[order[i]!] === 1) t++;
      else f++;
      i++;
    }
    thresholds.push(s);
    tp.push(t);
    fp.push(f);
  }
  return {
    thresholds: Float64Array.from(thresholds),
    truePositives: Int32Array.from(tp),
    falsePositives: Int32Array.from(fp),
    tpr: Float64Array.from(tp, (v) => v / members),
    fpr: Float64Array.from(fp, (v) => v / nonMembers),
    members,
    nonMembers,
  };
}

/** Area under the ROC curve (trapezoids). */
export function auc(roc: RocCurve): number {
  return aucOf(rocValue('roc', roc));
}

function aucOf(roc: RocCurve): number {
  let area = 0;
  for (let i = 1; i < roc.tpr.length; i++)
    area += (roc.fpr[i]! - roc.fpr[i - 1]!) * 0.5 * (roc.tpr[i]! + roc.tpr[i - 1]!);
  return area;
}

/** The largest TPR among points with FPR ≤ maxFpr. */
export function tprAtFpr(roc: RocCurve, maxFpr: number): number {
  rocValue('roc', roc);
  numberWhere('maxFpr', maxFpr, (f) => f >= 0 && f <= 1, 'in [0, 1]', 'a number in [0, 1]');
  return tprAt(roc, maxFpr);
}

function tprAt(roc: RocCurve, maxFpr: number): number {
  let best = 0;
  for (let i = 0; i < roc.tpr.length; i++) if (roc.fpr[i]! <= maxFpr && roc.tpr[i]! > best) best = roc.tpr[i]!;
  return best;
}

/** max over thresholds of TPR − FPR (Yeom et al. 2018). */
export function advantage(roc: RocCurve): number {
  return advantageOf(rocValue('roc', roc));
}

function advantageOf(roc: RocCurve): number {
  let best = 0;
  for (let i = 0; i < roc.tpr.length; i++) best = Math.max(best, roc.tpr[i]! - roc.fpr[i]!);
  return best;
}

/** max over thresholds of (TPR + TNR) / 2. */
export function balancedAccuracy(roc: RocCurve): number {
  return 0.5 * (1 + advantageOf(rocValue('roc', roc)));
}

export interface AttackMetrics {
  auc: number;
  balancedAccuracy: number;
  advantage: number;
  tprAt1PctFpr: number;
  tprAt01PctFpr: number;
}

export function attackMetrics(roc: RocCurve): AttackMetrics {
  rocValue('roc', roc);
  const adv = advantageOf(roc);
  return {
    auc: aucOf(roc),
    balancedAccuracy: 0.5 * (1 + adv),
    advantage: adv,
    tprAt1PctFpr: tprAt(roc, 0.01),
    tprAt01PctFpr: tprAt(roc, 0.001),
  };
}
