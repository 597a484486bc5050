// A complete audit (what `dpfl audit` runs): every example of the data is a canary, included in
// the target's training set independently with probability ½ by the audit's own seeded draw
// (what the one-run analysis of Steinke, Nasr and Jagielski 2023 requires); the target model is
// trained once without privacy and once with DP-SGD at the claimed ε, shadow models on other
// random halves in the same regime; the loss-threshold attack and LiRA score every example, and
// their ROC metrics and one-run ε lower bounds (one-run.ts) are reported; optionally secret
// canaries are planted in the targets' training data and their exposure measured.
import { invalidArgument, invalidType } from '../errors.js';
import {
  integerIn,
  nonNegativeInteger,
  openUnitInterval,
  positiveFinite,
  positiveInteger,
  requiredObject,
} from '../validate.js';
import { CANARY_TEMPLATE, canaryText, exposure, makeCanaries, secretDigits, type Canary } from './canaries.js';
import { extractCanary } from './modiva.js';
import { liraScores } from './lira.js';
import { lossThresholdScores } from './loss-attack.js';
import { drawMembership, oneRunAudit, type OneRunAudit } from './one-run.js';
import { attackMetrics, rocCurve, type AttackMetrics, type RocCurve } from './roc.js';
import { datasetValue } from './validate.js';
import {
  appendBags,
  Random,
  subset,
  textFeatures,
  trainModel,
  type Dataset,
  type ModelKind,
  type TrainedModel,
  type TrainOptions,
} from './train-adapter.js';

export interface TrainingSettings {
  optimizer: 'sgd' | 'adam';
  lr: number;
  epochs: number;
  batchSize: number;
  /** Clipping norm (private training). */
  maxGradNorm: number;
}

export interface CanarySettings {
  /** Canaries per repetition count. */
  perRepeat: number;
  repeats: number[];
  /** Digits of the secret (candidate space 10^digits; default 4). */
  digits?: number;
  /**
   * White-box extraction (ModIvA, modiva.ts) of every canary from each target's parameters: its
   * optimisation settings, or false to skip it (default: on, with extractCanary's defaults).
   */
  whiteBox?: false | WhiteBoxSettings;
}

export interface WhiteBoxSettings {
  /** Gradient steps per start (default 50). */
  steps?: number;
  /** Starts (default 2). */
  restarts?: number;
  /** Candidates per start rescored by the true loss (default 8). */
  beam?: number;
}

export interface AuditConfig {
  data: Dataset;
  model: ModelKind;
  epsilon: number;
  delta: number;
  /** Shadow models per regime (LiRA needs ≥ 2; 0 runs only the loss-threshold attack). */
  shadowModels: number;
  nonPrivate: TrainingSettings;
  private: TrainingSettings;
  canaries?: CanarySettings;
  seed: number;
  /** Confidence of the ε lower bounds (default 0.95). */
  confidence?: number;
  onProgress?: (event: { phase: string; step: number; total: number }) => void;
}

export interface AttackResult extends AttackMetrics {
  /** The one-run ε lower bound (= bound.epsilon). */
  epsilonLowerBound: number;
  /** How it was certified: the one-run analysis, its counts, guessing rule and assumptions. */
  bound: OneRunAudit;
  roc: RocCurve;
}

/** How the target's membership was drawn (the one-run bound is valid only for this draw). */
export interface MembershipDraw {
  draw: 'independent Bernoulli(1/2) per example';
  generator: 'xoshiro128** (src/data/random.ts), seeded';
  seed: number;
}

export interface RegimeResult {
  /** The theoretical ε of the training run (Infinity without privacy). */
  epsilon: number;
  noiseMultiplier: number;
  trainAccuracy: number;
  testAccuracy: number;
  /** The attack the headline numbers come from ('lira-online' with ≥ 2 shadow models, else 'loss'). */
  primaryAttack: string;
  attacks: Record<string, AttackResult>;
  canaries?: CanaryResult[];
}

export interface CanaryResult {
  secret: number;
  repeats: number;
  /** Rank and exposure by the target's loss (Carlini et al. 2019). */
  rank: number;
  exposure: number;
  /**
   * Rank and exposure by the target's logit-scaled confidence in the canary's label minus the mean
   * over the shadow models (which never saw a canary): difficulty calibration against reference models, as in Carlini et al. 2021
   * ("Extracting Training Data from Large Language Models", §5.2) and Watson et al. 2022 ("On
   * the Importance of Difficulty Calibration in Membership Inference Attacks", ICLR).
   */
  calibratedRank?: number;
  calibratedExposure?: number;
  /** ModIvA against the target's parameters (modiva.ts): its guess, whether exact, digits right. */
  whiteBox?: { guess: string; success: boolean; digitsCorrect: number; logProbability: number };
}

/** White-box extraction of the canaries with one repetition count, against each target. */
export interface WhiteBoxRow {
  attack: 'ModIvA (Parikh, Dupuy and Gupta 2022): token relaxation, gradient ascent, beam rescoring';
  /** Fraction of the canaries whose secret is exactly recovered, and mean digits right (of `digits`). */
  nonPrivate: { extraction: number; meanDigitsCorrect: number };
  private: { extraction: number; meanDigitsCorrect: number };
  /** What a uniform random guess achieves: 1/candidates exact, digits/10 digits right. */
  chance: { extraction: number; meanDigitsCorrect: number };
  digits: number;
}

export interface CanaryRow {
  repeats: number;
  /** Mean exposure of the canaries with this repetition count (private, then non-private). */
  exposure: number;
  nonPrivateExposure: number;
  /** Fraction extracted (rank 1). */
  extraction: number;
  nonPrivateExtraction: number;
  /** Mean reference-calibrated exposure (with shadow models; see CanaryResult). */
  calibratedExposure?: number;
  nonPrivateCalibratedExposure?: number;
  candidates: number;
  /** ModIvA's extraction rates (absent when the white-box step is skipped). */
  whiteBoxExtraction?: WhiteBoxRow;
}

export interface AuditResult {
  members: number;
  nonMembers: number;
  membership: MembershipDraw;
  shadowModels: number;
  delta: number;
  confidence: number;
  nonPrivate: RegimeResult;
  private: RegimeResult;
  canaries?: CanaryRow[];
}

/** A random half of 0..n−1 as 0/1 flags (exactly floor(n/2) ones): the shadow models' training sets. */
function randomHalf(n: number, rng: Random): Uint8Array {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const flags = new Uint8Array(n);
  for (let k = 0; k < Math.floor(n / 2); k++) flags[perm[k]!] = 1;
  return flags;
}

function rowsWhere(flags: Uint8Array, value: number): Int32Array {
  const rows: number[] = [];
  flags.forEach((f, i) => {
    if (f === value) rows.push(i);
  });
  return Int32Array.from(rows);
}

/** Canary secrets of runAudit: every one of the 10^digits candidates is scored under each label. */
const MAX_CANARY_DIGITS = 6;
/** Epochs per model: a bound that keeps a mistyped count from training for days. */
const MAX_EPOCHS = 100000;
/** Canary messages appended to the target's training data, in all. */
const MAX_PLANTED = 2 ** 20;

function checkSettings(name: string, value: unknown): TrainingSettings {
  const s = requiredObject(name, value as TrainingSettings);
  if (s.optimizer !== 'sgd' && s.optimizer !== 'adam') {
    throw invalidArgument(`${name}.optimizer`, '"sgd" or "adam"', s.optimizer);
  }
  return {
    optimizer: s.optimizer,
    lr: positiveFinite(`${name}.lr`, s.lr),
    epochs: integerIn(`${name}.epochs`, s.epochs, 1, MAX_EPOCHS, `an integer in [1, ${MAX_EPOCHS}]`),
    batchSize: positiveInteger(`${name}.batchSize`, s.batchSize),
    maxGradNorm: positiveFinite(`${name}.maxGradNorm`, s.maxGradNorm),
  };
}

function checkWhiteBox(value: unknown): false | WhiteBoxSettings {
  if (value === false) return false;
  if (value === undefined || value === true) return {};
  const w = requiredObject('config.canaries.whiteBox', value as WhiteBoxSettings);
  const out: WhiteBoxSettings = {};
  const limit = (name: keyof WhiteBoxSettings, min: number, max: number) => {
    if (w[name] !== undefined)
      out[name] = integerIn(`config.canaries.whiteBox.${name}`, w[name], min, max, `an integer in [${min}, ${max}]`);
  };
  limit('steps', 0, MAX_EPOCHS);
  limit('restarts', 1, 256);
  limit('beam', 1, 4096);
  return out;
}

/** The config read once and checked: every field the audit uses, before any model is trained. */
function checkConfig(config: unknown): AuditConfig {
  const c = requiredObject('config', config as AuditConfig);
  const data = datasetValue('config.data', c.data);
  if (data.size < 8) throw invalidArgument('config.data.size', 'at least 8 examples', data.size);
  if (c.model !== 'linear' && c.model !== 'mlp' && c.model !== 'text') {
    throw invalidArgument('config.model', '"linear", "mlp" or "text"', c.model);
  }
  const shadowModels = nonNegativeInteger('config.shadowModels', c.shadowModels);
  const epsilon = positiveFinite('config.epsilon', c.epsilon);
  const delta = openUnitInterval('config.delta', c.delta);
  // Model seeds are derived as seed · 1000 + k, which must stay a safe integer.
  const seed = integerIn('config.seed', c.seed, 0, 2 ** 40 - 1, 'an integer in [0, 2^40)');
  const confidence = c.confidence === undefined ? 0.95 : openUnitInterval('config.confidence', c.confidence);
  if (c.onProgress !== undefined && typeof c.onProgress !== 'function') {
    throw invalidType('config.onProgress', 'a function', c.onProgress);
  }
  let canaries: CanarySettings | undefined;
  if (c.canaries !== undefined) {
    if (data.kind !== 'bags') throw invalidArgument('canaries', 'used with a text (bags) dataset', data.kind);
    const k = requiredObject('config.canaries', c.canaries);
    const digits =
      k.digits === undefined
        ? 4
        : integerIn(
            'config.canaries.digits',
            k.digits,
            1,
            MAX_CANARY_DIGITS,
            `an integer in [1, ${MAX_CANARY_DIGITS}]`,
          );
    const perRepeat = integerIn(
      'config.canaries.perRepeat',
      k.perRepeat,
      1,
      MAX_PLANTED,
      `an integer in [1, ${MAX_PLANTED}]`,
    );
    const list: unknown = k.repeats;
    if (!Array.isArray(list)) {
      throw invalidType('config.canaries.repeats', 'a non-empty list of positive integers', list);
    }
    if (list.length > MAX_PLANTED) {
      throw invalidArgument('config.canaries.repeats.length', `at most ${MAX_PLANTED}`, list.length);
    }
    const repeats = Array.from(list as unknown[], (r, i) =>
      integerIn(`config.canaries.repeats[${i}]`, r, 1, MAX_PLANTED, `an integer in [1, ${MAX_PLANTED}]`),
    );
    // makeCanaries checks perRepeat, the list and the secret space with the same names.
    makeCanaries({ perRepeat, repeats, digits, classes: data.classes });
    const copies = perRepeat * repeats.reduce((sum, r) => sum + r, 0);
    if (copies > MAX_PLANTED) {
      throw invalidArgument('config.canaries', `at most ${MAX_PLANTED} planted copies (perRepeat × Σ repeats)`, copies);
    }
    canaries = { perRepeat, repeats, digits, whiteBox: checkWhiteBox(k.whiteBox) };
  }
  return {
    data,
    model: c.model,
    epsilon,
    delta,
    shadowModels,
    nonPrivate: checkSettings('config.nonPrivate', c.nonPrivate),
    private: checkSettings('config.private', c.private),
    ...(canaries ? { canaries } : {}),
    seed,
    confidence,
    ...(c.onProgress ? { onProgress: c.onProgress } : {}),
  };
}

function whiteBoxRow(np: CanaryResult[], p: CanaryResult[], digits: number, candidates: number): WhiteBoxRow {
  const rates = (rs: CanaryResult[]) => ({
    extraction: rs.reduce((n, c) => n + (c.whiteBox!.success ? 1 : 0), 0) / rs.length,
    meanDigitsCorrect: rs.reduce((n, c) => n + c.whiteBox!.digitsCorrect, 0) / rs.length,
  });
  return {
    attack: 'ModIvA (Parikh, Dupuy and Gupta 2022): token relaxation, gradient ascent, beam rescoring',
    nonPrivate: rates(np),
    private: rates(p),
    chance: { extraction: 1 / candidates, meanDigitsCorrect: digits / 10 },
    digits,
  };
}

export function runAudit(auditConfig: AuditConfig): AuditResult {
  const config = checkConfig(auditConfig);
  const { data, delta } = config;
  const confidence = config.confidence ?? 0.95;
  const rng = new Random(config.seed);
  // Independent coin flips, not a fixed-size half: the one-run analysis needs each example's
  // inclusion independent of every other's. Drawn first from the seeded generator (recorded).
  const targetIn = drawMembership(data.size, rng);
  const inCount = targetIn.reduce((s, f) => s + f, 0);
  if (inCount < 2 || data.size - inCount < 2) {
    const expected = 'a seed whose membership draw gives at least 2 members and 2 non-members';
    throw invalidArgument('seed', expected, `${inCount} members of ${data.size}`);
  }
  const shadowIn = Array.from({ length: config.shadowModels }, () => randomHalf(data.size, rng));
  const canaries: Canary[] = config.canaries
    ? makeCanaries({
        perRepeat: config.canaries.perRepeat,
        repeats: config.canaries.repeats,
        digits: config.canaries.digits ?? 4,
        seed: config.seed + 17,
        classes: data.classes,
      })
    : [];
  const digits = config.canaries?.digits ?? 4;
  const secrets = canaries.map((c) => c.secret);
  const planted = canaries.flatMap((c) =>
    Array.from({ length: c.repeats }, () => ({ tokens: textFeatures(c.text, data.featureDim), label: c.label })),
  );
  const members = subset(data, rowsWhere(targetIn, 1));
  const targetData = planted.length > 0 ? appendBags(members, planted, `${data.name}+canaries`) : members;
  const testData = subset(data, rowsWhere(targetIn, 0));
  // Every candidate secret as a message, under every label a canary carries (for ranking).
  const candidateData = new Map<number, Dataset>();
  for (const label of new Set(canaries.map((c) => c.label))) {
    const messages = Array.from({ length: 10 ** digits }, (_, s) => ({
      tokens: textFeatures(canaryText(s, digits), data.featureDim),
      label,
    }));
    candidateData.set(label, appendBags(subset(data, new Int32Array(0)), messages, `canary-candidates-${label}`));
  }
  /** Per label: the candidates' losses and logit-scaled confidences under a model. */
  const candidateStats = (model: TrainedModel) =>
    new Map([...candidateData].map(([label, ds]) => [label, model.stats(ds)]));

  const regime = (priv: boolean): RegimeResult => {
    const settings = priv ? config.private : config.nonPrivate;
    const name = priv ? `private (ε = ${config.epsilon})` : 'non-private';
    const train = (ds: Dataset, seed: number, phase: string): TrainedModel => {
      const options: TrainOptions = {
        model: config.model,
        private: priv,
        epsilon: config.epsilon,
        delta,
        ...settings,
        seed,
        onStep: (step, total) => config.onProgress?.({ phase, step, total }),
      };
      return trainModel(ds, options);
    };
    const target = train(targetData, config.seed * 1000 + (priv ? 1 : 0), `${name}: target model`);
    const stats = target.stats(data);
    const shadowConf: Float64Array[] = [];
    // Reference confidences of the candidate secrets: the mean over shadow models, which never saw a canary.
    const reference = new Map([...candidateData].map(([label, ds]) => [label, new Float64Array(ds.size)]));
    shadowIn.forEach((flags, m) => {
      const shadow = train(
        subset(data, rowsWhere(flags, 1)),
        config.seed * 1000 + 2 * (m + 1) + (priv ? 1 : 0),
        `${name}: shadow model ${m + 1}/${shadowIn.length}`,
      );
      shadowConf.push(shadow.stats(data).confidence);
      for (const [label, st] of candidateStats(shadow))
        st.confidence.forEach((v, i) => (reference.get(label)![i]! += v / shadowIn.length));
    });
    const attack = (scores: Float64Array): AttackResult => {
      const roc = rocCurve(scores, targetIn);
      const bound = oneRunAudit(scores, targetIn, { delta, confidence });
      return { ...attackMetrics(roc), epsilonLowerBound: bound.epsilon, bound, roc };
    };
    const attacks: Record<string, AttackResult> = { loss: attack(lossThresholdScores(stats.loss)) };
    if (shadowIn.length >= 2) {
      attacks['lira-online'] = attack(
        liraScores({ target: stats.confidence, shadow: shadowConf, shadowMembership: shadowIn, variant: 'online' }),
      );
      attacks['lira-offline'] = attack(
        liraScores({ target: stats.confidence, shadow: shadowConf, shadowMembership: shadowIn, variant: 'offline' }),
      );
    }
    const result: RegimeResult = {
      epsilon: priv ? target.epsilon : Infinity,
      noiseMultiplier: target.noiseMultiplier,
      trainAccuracy: target.accuracy(members),
      testAccuracy: target.accuracy(testData),
      primaryAttack: shadowIn.length >= 2 ? 'lira-online' : 'loss',
      attacks,
    };
    if (canaries.length > 0) {
      const own = candidateStats(target);
      result.canaries = canaries.map((c) => {
        const others = secrets.filter((s) => s !== c.secret);
        const st = own.get(c.label)!;
        const e = exposure(st.loss, c.secret, others);
        const row: CanaryResult = { secret: c.secret, repeats: c.repeats, rank: e.rank, exposure: e.exposure };
        if (shadowIn.length > 0) {
          // Lower = more likely the secret: the target's confidence gain over the reference models.
          const ref = reference.get(c.label)!;
          const k = exposure(
            st.confidence.map((v, i) => ref[i]! - v),
            c.secret,
            others,
          );
          row.calibratedRank = k.rank;
          row.calibratedExposure = k.exposure;
        }
        return row;
      });
      const whiteBox = config.canaries?.whiteBox;
      if (whiteBox !== false && whiteBox !== undefined) {
        canaries.forEach((c, i) => {
          config.onProgress?.({ phase: `${name}: white-box extraction`, step: i + 1, total: canaries.length });
          const secret = secretDigits(c.secret, digits);
          const x = extractCanary({
            model: target.model,
            template: CANARY_TEMPLATE,
            slots: digits,
            targetLabel: c.label,
            ...whiteBox,
            seed: config.seed + i,
            secret,
            exclude: secrets.filter((s) => s !== c.secret).map((s) => secretDigits(s, digits)),
          });
          result.canaries![i]!.whiteBox = {
            guess: x.guess,
            success: x.success!,
            digitsCorrect: x.slotsCorrect!,
            logProbability: x.logProbability,
          };
        });
      }
    }
    return result;
  };

  const nonPrivate = regime(false);
  const priv = regime(true);
  const result: AuditResult = {
    members: members.size,
    nonMembers: testData.size,
    membership: {
      draw: 'independent Bernoulli(1/2) per example',
      generator: 'xoshiro128** (src/data/random.ts), seeded',
      seed: config.seed,
    },
    shadowModels: config.shadowModels,
    delta,
    confidence,
    nonPrivate,
    private: priv,
  };
  if (config.canaries) {
    result.canaries = config.canaries.repeats.map((r) => {
      const p = priv.canaries!.filter((c) => c.repeats === r);
      const np = nonPrivate.canaries!.filter((c) => c.repeats === r);
      const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
      return {
        repeats: r,
        exposure: mean(p.map((c) => c.exposure)),
        nonPrivateExposure: mean(np.map((c) => c.exposure)),
        extraction: mean(p.map((c) => (c.rank === 1 ? 1 : 0))),
        nonPrivateExtraction: mean(np.map((c) => (c.rank === 1 ? 1 : 0))),
        ...(config.shadowModels > 0
          ? {
              calibratedExposure: mean(p.map((c) => c.calibratedExposure!)),
              nonPrivateCalibratedExposure: mean(np.map((c) => c.calibratedExposure!)),
            }
          : {}),
        candidates: 10 ** digits - canaries.length + 1,
        ...(np[0]?.whiteBox
          ? { whiteBoxExtraction: whiteBoxRow(np, p, digits, 10 ** digits - canaries.length + 1) }
          : {}),
      };
    });
  }
  return result;
}
