// The audit result as one JSON-ready object and as a text table (private vs non-private side by
// side). Pure formatting: no I/O. Every ε lower bound names the analysis that produced it.
import { invalidArgument, invalidType } from '../errors.js';
import { numberValue, requiredObject, stringValue } from '../validate.js';
import { ONE_RUN_ASSUMPTIONS } from './one-run.js';
import type { AttackResult, AuditResult, RegimeResult } from './run-audit.js';

export interface AttackSummary {
  auc: number;
  balancedAccuracy: number;
  advantage: number;
  tprAt1PctFpr: number;
  tprAt01PctFpr: number;
  /** The one-run ε lower bound (Steinke, Nasr and Jagielski 2023). */
  epsilonLowerBound: number;
  /** How it was certified: m canaries, r guesses (k₊ "member" + k₋ "non-member"), v correct. */
  bound: {
    analysis: 'one-run';
    canaries: number;
    guesses: number;
    correct: number;
    positiveGuesses: number;
    negativeGuesses: number;
    /** Guessing rules tried, each at (1 − confidence)/rules (Bonferroni). */
    rules: number;
    pValue: number;
  };
}

export interface RegimeSummary {
  /** The headline attack's numbers (LiRA online with ≥ 2 shadow models, else the loss attack). */
  auc: number;
  tprAt1PctFpr: number;
  tprAt01PctFpr: number;
  epsilonLowerBound: number;
  /** Which analysis produced epsilonLowerBound. */
  epsilonLowerBoundAnalysis: 'one-run';
  attack: string;
  trainAccuracy: number;
  testAccuracy: number;
  attacks: Record<string, AttackSummary>;
}

function attackSummary(a: AttackResult): AttackSummary {
  return {
    auc: a.auc,
    balancedAccuracy: a.balancedAccuracy,
    advantage: a.advantage,
    tprAt1PctFpr: a.tprAt1PctFpr,
    tprAt01PctFpr: a.tprAt01PctFpr,
    epsilonLowerBound: a.epsilonLowerBound,
    bound: {
      analysis: a.bound.analysis,
      canaries: a.bound.canaries,
      guesses: a.bound.guesses,
      correct: a.bound.correct,
      positiveGuesses: a.bound.positiveGuesses,
      negativeGuesses: a.bound.negativeGuesses,
      rules: a.bound.rules,
      pValue: a.bound.pValue,
    },
  };
}

function regimeSummary(r: RegimeResult): RegimeSummary {
  const head = r.attacks[r.primaryAttack]!;
  return {
    auc: head.auc,
    tprAt1PctFpr: head.tprAt1PctFpr,
    tprAt01PctFpr: head.tprAt01PctFpr,
    epsilonLowerBound: head.epsilonLowerBound,
    epsilonLowerBoundAnalysis: head.bound.analysis,
    attack: r.primaryAttack,
    trainAccuracy: r.trainAccuracy,
    testAccuracy: r.testAccuracy,
    attacks: Object.fromEntries(Object.entries(r.attacks).map(([k, a]) => [k, attackSummary(a)])),
  };
}

/** Every number a summary or table reads, checked up front (an AuditResult may come back from JSON). */
const ATTACK_NUMBERS = ['auc', 'balancedAccuracy', 'advantage', 'tprAt1PctFpr', 'tprAt01PctFpr', 'epsilonLowerBound'];
const BOUND_NUMBERS = ['canaries', 'guesses', 'correct', 'positiveGuesses', 'negativeGuesses', 'rules', 'pValue'];
const REGIME_NUMBERS = ['epsilon', 'noiseMultiplier', 'trainAccuracy', 'testAccuracy'];
const RESULT_NUMBERS = ['members', 'nonMembers', 'shadowModels', 'delta', 'confidence'];
const CANARY_NUMBERS = [
  'repeats',
  'exposure',
  'nonPrivateExposure',
  'extraction',
  'nonPrivateExtraction',
  'candidates',
];

function checkNumbers(name: string, o: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of keys) numberValue(`${name}.${k}`, o[k]);
}

function checkRegime(name: string, value: unknown): void {
  const r = requiredObject(name, value as Record<string, unknown>);
  checkNumbers(name, r, REGIME_NUMBERS);
  const primary = stringValue(`${name}.primaryAttack`, r.primaryAttack);
  const attacks = requiredObject(`${name}.attacks`, r.attacks as Record<string, unknown>);
  if (!Object.hasOwn(attacks, primary)) throw invalidArgument(`${name}.primaryAttack`, 'a key of attacks', primary);
  for (const [k, a] of Object.entries(attacks)) {
    const attack = requiredObject(`${name}.attacks.${k}`, a as Record<string, unknown>);
    checkNumbers(`${name}.attacks.${k}`, attack, ATTACK_NUMBERS);
    const bound = requiredObject(`${name}.attacks.${k}.bound`, attack.bound as Record<string, unknown>);
    checkNumbers(`${name}.attacks.${k}.bound`, bound, BOUND_NUMBERS);
  }
}

function checkResult(value: unknown): AuditResult {
  const r = requiredObject('result', value as Record<string, unknown>);
  checkNumbers('result', r, RESULT_NUMBERS);
  numberValue('result.membership.seed', requiredObject('result.membership', r.membership as { seed?: unknown }).seed);
  checkRegime('result.nonPrivate', r.nonPrivate);
  checkRegime('result.private', r.private);
  const np = (r.nonPrivate as RegimeResult).attacks;
  for (const k of Object.keys(np)) {
    if (!Object.hasOwn((r.private as RegimeResult).attacks, k)) {
      throw invalidArgument('result.private.attacks', `the attacks of result.nonPrivate (${k})`, k);
    }
  }
  if (r.canaries !== undefined) {
    if (!Array.isArray(r.canaries)) throw invalidType('result.canaries', 'an array of canary rows', r.canaries);
    if (r.canaries.length === 0) {
      throw invalidArgument('result.canaries', 'a non-empty array of canary rows', r.canaries);
    }
    (r.canaries as unknown[]).forEach((c, i) => {
      const row = requiredObject(`result.canaries[${i}]`, c as Record<string, unknown>);
      checkNumbers(`result.canaries[${i}]`, row, CANARY_NUMBERS);
      // The table prints both calibrated columns when the private one is there.
      if (row.calibratedExposure !== undefined) {
        checkNumbers(`result.canaries[${i}]`, row, ['calibratedExposure', 'nonPrivateCalibratedExposure']);
      }
      if (row.whiteBoxExtraction !== undefined) {
        const name = `result.canaries[${i}].whiteBoxExtraction`;
        const w = requiredObject(name, row.whiteBoxExtraction as Record<string, unknown>);
        numberValue(`${name}.digits`, w.digits);
        for (const k of ['nonPrivate', 'private', 'chance']) {
          const r = requiredObject(`${name}.${k}`, w[k] as Record<string, unknown>);
          checkNumbers(`${name}.${k}`, r, ['extraction', 'meanDigitsCorrect']);
        }
      }
    });
  }
  return value as AuditResult;
}

/** One JSON-ready object (no typed arrays, no Infinity). */
export function auditSummary(result: AuditResult, meta: Record<string, unknown> = {}) {
  checkResult(result);
  requiredObject('meta', meta);
  const priv = regimeSummary(result.private);
  return {
    ...meta,
    members: result.members,
    nonMembers: result.nonMembers,
    shadowModels: result.shadowModels,
    delta: result.delta,
    confidence: result.confidence,
    membership: result.membership,
    /** Every epsilonLowerBound below comes from this analysis, valid under these assumptions. */
    epsilonLowerBoundAnalysis: {
      analysis: 'one-run',
      reference: 'Steinke, Nasr and Jagielski 2023, NeurIPS',
      assumptions: ONE_RUN_ASSUMPTIONS,
    },
    nonPrivate: regimeSummary(result.nonPrivate),
    private: { epsilon: result.private.epsilon, noiseMultiplier: result.private.noiseMultiplier, ...priv },
    /** true when the headline attack certifies more leakage than the private model's ε allows. */
    privacyClaimViolated: priv.epsilonLowerBound > result.private.epsilon,
    ...(result.canaries ? { canaries: result.canaries } : {}),
  };
}

const ATTACK_NAMES: Record<string, string> = {
  loss: 'loss threshold',
  'lira-online': 'LiRA online',
  'lira-offline': 'LiRA offline',
};

/** The side-by-side table. */
export function auditTable(result: AuditResult, title: string): string {
  checkResult(result);
  stringValue('title', title);
  const np = result.nonPrivate;
  const p = result.private;
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  const num = (v: number, d = 3) => v.toFixed(d);
  const rows: [string, string, string][] = [];
  rows.push(['', 'non-private', `private (ε = ${num(p.epsilon, 2)})`]);
  rows.push([
    'train / test accuracy',
    `${pct(np.trainAccuracy)} / ${pct(np.testAccuracy)}`,
    `${pct(p.trainAccuracy)} / ${pct(p.testAccuracy)}`,
  ]);
  const conf = `${Math.round(result.confidence * 100)}%`;
  for (const name of Object.keys(np.attacks)) {
    const a = np.attacks[name]!;
    const b = p.attacks[name]!;
    rows.push([`${ATTACK_NAMES[name] ?? name}${name === np.primaryAttack ? ' (headline)' : ''}`, '', '']);
    rows.push(['  AUC', num(a.auc), num(b.auc)]);
    rows.push(['  balanced accuracy', num(a.balancedAccuracy), num(b.balancedAccuracy)]);
    rows.push(['  TPR @ 1% FPR', pct(a.tprAt1PctFpr), pct(b.tprAt1PctFpr)]);
    rows.push(['  TPR @ 0.1% FPR', pct(a.tprAt01PctFpr), pct(b.tprAt01PctFpr)]);
    rows.push([`  ε lower bound, one run (${conf})`, num(a.epsilonLowerBound), num(b.epsilonLowerBound)]);
    const guesses = (x: AttackResult) => `${x.bound.correct} / ${x.bound.guesses}`;
    rows.push(['    correct / guesses', guesses(a), guesses(b)]);
  }
  if (result.canaries) {
    const c0 = result.canaries[0]!;
    rows.push([`canary exposure (max ${num(Math.log2(c0.candidates), 2)} bits)`, '', '']);
    for (const c of result.canaries) {
      rows.push([`  repeated ${c.repeats}×`, num(c.nonPrivateExposure, 2), num(c.exposure, 2)]);
      if (c.calibratedExposure !== undefined)
        rows.push([
          `  repeated ${c.repeats}×, calibrated`,
          num(c.nonPrivateCalibratedExposure!, 2),
          num(c.calibratedExposure, 2),
        ]);
      rows.push([`  repeated ${c.repeats}×, extracted`, pct(c.nonPrivateExtraction), pct(c.extraction)]);
    }
    const w0 = result.canaries[0]!.whiteBoxExtraction;
    if (w0) {
      const cell = (r: { extraction: number; meanDigitsCorrect: number }) =>
        `${pct(r.extraction)} (${num(r.meanDigitsCorrect, 2)}/${w0.digits} digits)`;
      rows.push([`white-box extraction, ModIvA (chance ${cell(w0.chance)})`, '', '']);
      for (const c of result.canaries) {
        const w = c.whiteBoxExtraction;
        if (w) rows.push([`  repeated ${c.repeats}×`, cell(w.nonPrivate), cell(w.private)]);
      }
    }
  }
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const lines = [title, ...rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`.trimEnd())];
  const head = p.attacks[p.primaryAttack]!;
  lines.push('');
  lines.push(
    `theoretical ε = ${num(p.epsilon)}, audited lower bound = ${num(head.epsilonLowerBound)} at ${conf} confidence (${ATTACK_NAMES[p.primaryAttack] ?? p.primaryAttack})`,
  );
  lines.push(
    `ε lower bounds: one-run analysis (Steinke, Nasr and Jagielski 2023) over ${result.members + result.nonMembers} ` +
      `examples, each a member with probability 1/2 (seeded draw, seed ${result.membership.seed})`,
  );
  return lines.join('\n');
}
