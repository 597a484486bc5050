// ROC curve of a membership score and the summary metrics of membership inference. A score is
// "higher = more likely a member"; label 1 marks members, 0 non-members. The attack that flags
// every example with score ≥ t has TPR(t) = members flagged / members and FPR(t) = non-members
// flagged / non-members; the curve runs over every distinct score from (0, 0) to (1, 1).
//   AUC: area under the curve by trapezoids (ties count one half: the Mann–Whitney statistic).
//   TPR at low FPR: the largest TPR with FPR ≤ target, the metric Carlini et al. 2022
//     ("Membership Inference Attacks From First Principles", S&P) argue for.
//   Advantage: max_t TPR − FPR (Yeom et al. 2018, "Privacy Risk in Machine Learning", CSF).
//   Balanced accuracy: max_t (TPR + TNR) / 2 = (1 + advantage) / 2.
import { invalidArgument, invalidType } from '../errors.js';

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

/** Checks scores and labels and returns the labels as 0/1 bytes. */
export function checkScores(scores: Scores, labels: Membership): Uint8Array {
  if (scores === null || typeof scores !== 'object' || typeof scores.length !== 'number') throw invalidType('scores', 'an array of numbers', scores);
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') throw invalidType('labels', 'an array of 0/1 membership labels', labels);
  if (labels.length !== scores.length) throw invalidArgument('labels', `of the same length as scores (${scores.length})`, labels.length);
  const out = new Uint8Array(labels.length);
  let members = 0;
  for (let i = 0; i < labels.length; i++) {
    const s = scores[i];
    if (typeof s !== 'number' || Number.isNaN(s)) throw invalidArgument(`scores[${i}]`, 'a number (not NaN)', s);
    const l = labels[i];
    if (l !== 0 && l !== 1 && l !== true && l !== false) throw invalidArgument(`labels[${i}]`, '0, 1, true or false', l);
    out[i] = l === 1 || l === true ? 1 : 0;
    members += out[i]!;
  }
  if (members === 0 || members === labels.length) throw invalidArgument('labels', 'both members (1) and non-members (0)', `${members} members of ${labels.length}`);
  return out;
}

export function rocCurve(scores: Scores, labels: Membership): RocCurve {
  const lab = checkScores(scores, labels);
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
  let area = 0;
  for (let i = 1; i < roc.tpr.length; i++) area += (roc.fpr[i]! - roc.fpr[i - 1]!) * 0.5 * (roc.tpr[i]! + roc.tpr[i - 1]!);
  return area;
}

/** The largest TPR among points with FPR ≤ maxFpr. */
export function tprAtFpr(roc: RocCurve, maxFpr: number): number {
  if (typeof maxFpr !== 'number' || !(maxFpr >= 0 && maxFpr <= 1)) throw invalidArgument('maxFpr', 'in [0, 1]', maxFpr);
  let best = 0;
  for (let i = 0; i < roc.tpr.length; i++) if (roc.fpr[i]! <= maxFpr && roc.tpr[i]! > best) best = roc.tpr[i]!;
  return best;
}

/** max over thresholds of TPR − FPR (Yeom et al. 2018). */
export function advantage(roc: RocCurve): number {
  let best = 0;
  for (let i = 0; i < roc.tpr.length; i++) best = Math.max(best, roc.tpr[i]! - roc.fpr[i]!);
  return best;
}

/** max over thresholds of (TPR + TNR) / 2. */
export function balancedAccuracy(roc: RocCurve): number {
  return 0.5 * (1 + advantage(roc));
}

export interface AttackMetrics {
  auc: number;
  balancedAccuracy: number;
  advantage: number;
  tprAt1PctFpr: number;
  tprAt01PctFpr: number;
}

export function attackMetrics(roc: RocCurve): AttackMetrics {
  return {
    auc: auc(roc),
    balancedAccuracy: balancedAccuracy(roc),
    advantage: advantage(roc),
    tprAt1PctFpr: tprAtFpr(roc, 0.01),
    tprAt01PctFpr: tprAtFpr(roc, 0.001),
  };
}
