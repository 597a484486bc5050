// `dpfl audit`: measure what a trained model leaks. Trains a target model on the examples drawn
// in (each independently with probability ½) without privacy and with DP-SGD at ε, plus shadow
// models, runs the loss-threshold attack and LiRA, reports ROC metrics and one-run ε lower bounds
// (Steinke, Nasr and Jagielski 2023) side by side, optionally plants canaries and reports their
// exposure; or audits the Gaussian mechanism itself over independent runs (--mechanism).
import { writeFileSync } from 'node:fs';
import { INDEPENDENT_TRIALS_ASSUMPTIONS } from '../../audit/epsilon-bound.js';
import {
  assertClaimHolds,
  auditGaussianMechanism,
  PrivacyClaimViolated,
  type GaussianAuditOptions,
} from '../../audit/gaussian-audit.js';
import { auditSummary, auditTable } from '../../audit/report.js';
import { rocSvg } from '../../audit/roc-svg.js';
import { runAudit, type TrainingSettings } from '../../audit/run-audit.js';
import { loadAuditDataset, type AuditDatasetName, type ModelKind } from '../../audit/train-adapter.js';
import { parseCommandArgs, stringOptions, type Command, usageError } from '../command.js';
import { optionParser } from '../options.js';
import { ProgressLine } from '../progress.js';

const HELP = `usage: dpfl audit [--dataset spam|mnist|synthetic] [--model linear|mlp|text] [--epsilon 1] [--delta 1e-5]
                  [--shadow-models 16] [--canaries K --repeats 1,4,16] [--epochs N] [--batch-size B]
                  [--lr LR] [--private-lr LR] [--private-batch-size B] [--seed S] [--confidence 0.95]
                  [--white-box-steps 50] [--plot FILE.svg] [--json]
       dpfl audit --mechanism gaussian [--epsilon 1] [--delta 1e-5] [--noise-scale 0.1] [--trials 20000]

Every example is a member of the target's training set independently with probability 1/2 (a
seeded draw). Trains the target model twice — without privacy and with DP-SGD at ε — and
shadow models on random halves (in the same regime as each target), then attacks the targets:
the loss-threshold attack (Yeom et al. 2018) and LiRA online/offline (Carlini et al. 2022).
Reports AUC, balanced accuracy, TPR at 1% and 0.1% FPR and the one-run ε lower bound (Steinke,
Nasr and Jagielski 2023: r guesses on the m examples, v correct) per attack, side by side; exits
with code 3 if an attack certifies more leakage than the private model's ε allows.
  --canaries K --repeats R1,R2,...  plant K secrets "my pin is NNNN" per repetition count in the
                     targets' training text and report their exposure (Carlini et al. 2019)
                     (spam dataset; --repeats alone plants K = 2), and try to extract each
                     secret from the targets' parameters (white-box ModIvA: Parikh, Dupuy and
                     Gupta 2022)
  --white-box-steps N   gradient steps of the white-box extraction (default 50; 0 skips it)
  --plot FILE.svg    the ROC curves of the headline attack, log-log axes
  --json             one JSON object: { membership, epsilonLowerBoundAnalysis: { analysis,
                     assumptions }, nonPrivate: { auc, tprAt1PctFpr, epsilonLowerBound, ... },
                     private: { epsilon, auc, tprAt1PctFpr, epsilonLowerBound, ... }, canaries? }
  --mechanism gaussian   audit the Gaussian mechanism on a sum with one-record difference over
                     independent runs (Clopper–Pearson bound for independent trials;
                     --noise-scale 0.1: a broken mechanism with 10× too little noise); exits
                     with code 3 when the audit refutes the claimed ε
Progress goes to stderr. Seeds make runs reproducible (experiments, not deployments).`;

const { fail, choice, positive, integer, openUnit, integerList } = optionParser('prose');

/** Defaults per dataset/model: non-private Adam; private DP-SGD (momentum SGD) with larger batches. */
const DEFAULTS: Record<string, { nonPrivate: TrainingSettings; private: TrainingSettings }> = {
  'spam/linear': {
    nonPrivate: { optimizer: 'adam', lr: 0.05, epochs: 20, batchSize: 256, maxGradNorm: 1 },
    private: { optimizer: 'sgd', lr: 8, epochs: 20, batchSize: 1024, maxGradNorm: 1 },
  },
  'spam/text': {
    nonPrivate: { optimizer: 'adam', lr: 0.01, epochs: 10, batchSize: 256, maxGradNorm: 1 },
    private: { optimizer: 'sgd', lr: 4, epochs: 10, batchSize: 1024, maxGradNorm: 1 },
  },
  'spam/mlp': {
    nonPrivate: { optimizer: 'adam', lr: 0.01, epochs: 10, batchSize: 256, maxGradNorm: 1 },
    private: { optimizer: 'sgd', lr: 4, epochs: 10, batchSize: 1024, maxGradNorm: 1 },
  },
};
const FALLBACK = {
  nonPrivate: { optimizer: 'adam', lr: 0.01, epochs: 20, batchSize: 128, maxGradNorm: 1 },
  private: { optimizer: 'sgd', lr: 1, epochs: 20, batchSize: 512, maxGradNorm: 1 },
} as const;

const OPTIONS = stringOptions(
  'dataset',
  'model',
  'epsilon',
  'delta',
  'shadow-models',
  'canaries',
  'repeats',
  'epochs',
  'batch-size',
  'lr',
  'private-lr',
  'private-batch-size',
  'seed',
  'confidence',
  'plot',
  'mechanism',
  'noise-scale',
  'trials',
  'white-box-steps',
);

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values'];

function progressReporter(): (e: { phase: string; step: number; total: number }) => void {
  let line: ProgressLine | undefined;
  let lastPhase = '';
  return ({ phase, step, total }) => {
    if (phase !== lastPhase) {
      line?.finish();
      line = new ProgressLine();
      lastPhase = phase;
    }
    line!.update(step, total, `${phase}: step ${step}/${total}`);
    if (step >= total) line!.finish();
  };
}

function parseRepeats(raw: string): number[] {
  return integerList('repeats', raw, 1, 'a comma-separated list of positive integers (e.g. 1,4,16)');
}

function parseMechanism(values: Values): GaussianAuditOptions {
  const mechanism = values.mechanism;
  if (mechanism !== 'gaussian') fail('mechanism', '"gaussian"', mechanism);
  const delta = openUnit('delta', values.delta, 1e-5);
  const confidence = openUnit('confidence', values.confidence, 0.95);
  return {
    epsilon: positive('epsilon', values.epsilon, 1),
    delta,
    noiseScale: positive('noise-scale', values['noise-scale'], 1),
    trials: integer('trials', values.trials, 20000, 1),
    seed: integer('seed', values.seed, 1, 0),
    confidence,
  };
}

function mechanismAudit(options: GaussianAuditOptions, json: boolean): number {
  const { epsilon, delta } = options;
  const r = auditGaussianMechanism(options);
  if (json) {
    const { audit, ...rest } = r;
    console.log(
      JSON.stringify({
        ...rest,
        epsilonLowerBound: audit.epsilon,
        epsilonLowerBoundAnalysis: {
          analysis: audit.analysis,
          reference: 'Jagielski, Ullman and Oprea 2020',
          assumptions: INDEPENDENT_TRIALS_ASSUMPTIONS,
        },
        direction: audit.direction,
        counts: audit.counts,
      }),
    );
  } else {
    console.log(
      `Gaussian mechanism, sensitivity 1: claims ε = ${epsilon} at δ = ${delta} (needs σ ≥ ${r.calibratedSigma.toPrecision(4)}), runs with σ = ${r.sigma.toPrecision(4)}`,
    );
    console.log(`  exact ε of the mechanism as run: ${r.trueEpsilon.toFixed(3)}`);
    const trials = r.audit.counts.members + r.audit.counts.nonMembers;
    console.log(
      `  audited lower bound: ε ≥ ${r.audit.epsilon.toFixed(3)} at ${(r.audit.confidence * 100).toFixed(0)}% ` +
        `confidence (${trials} held-out trials, each an independent run)`,
    );
  }
  try {
    assertClaimHolds(r);
  } catch (e) {
    if (!(e instanceof PrivacyClaimViolated)) throw e;
    console.error(`dpfl audit: ${e.message}`);
    return 3;
  }
  return 0;
}

interface AuditPlan {
  dataset: AuditDatasetName;
  model: ModelKind;
  epsilon: number;
  delta: number;
  confidence: number;
  shadowModels: number;
  seed: number;
  nonPrivate: TrainingSettings;
  priv: TrainingSettings;
  canaries: { perRepeat: number; repeats: number[]; whiteBox: false | { steps: number } } | undefined;
}

/** Validates every flag before anything is trained. */
function parseAudit(values: Values): AuditPlan {
  const dataset = choice<AuditDatasetName>('dataset', values.dataset, ['spam', 'mnist', 'synthetic'], 'spam');
  const model = choice<ModelKind>(
    'model',
    values.model,
    ['linear', 'mlp', 'text'],
    dataset === 'mnist' ? 'mlp' : 'linear',
  );
  if (model === 'text' && dataset === 'mnist') fail('model', '"linear" or "mlp" for the mnist dataset', model);
  const epsilon = positive('epsilon', values.epsilon, 1);
  const delta = openUnit('delta', values.delta, 1e-5);
  const confidence = openUnit('confidence', values.confidence, 0.95);
  const shadowModels = integer('shadow-models', values['shadow-models'], 16, 0);
  if (shadowModels === 1) fail('shadow-models', '0 (loss attack only) or at least 2 (LiRA)', values['shadow-models']);
  const seed = integer('seed', values.seed, 1, 0);
  const d = DEFAULTS[`${dataset}/${model}`] ?? FALLBACK;
  const epochs = positive('epochs', values.epochs, d.nonPrivate.epochs);
  const nonPrivate: TrainingSettings = {
    ...d.nonPrivate,
    epochs,
    lr: positive('lr', values.lr, d.nonPrivate.lr),
    batchSize: integer('batch-size', values['batch-size'], d.nonPrivate.batchSize, 1),
  };
  const priv: TrainingSettings = {
    ...d.private,
    epochs: values.epochs !== undefined ? epochs : d.private.epochs,
    lr: positive('private-lr', values['private-lr'], d.private.lr),
    batchSize: integer('private-batch-size', values['private-batch-size'], d.private.batchSize, 1),
  };
  let canaries: AuditPlan['canaries'];
  const steps = integer('white-box-steps', values['white-box-steps'], 50, 0);
  if (values.canaries !== undefined || values.repeats !== undefined) {
    const perRepeat = integer('canaries', values.canaries, 2, 1);
    canaries = {
      perRepeat,
      repeats: values.repeats !== undefined ? parseRepeats(values.repeats) : [1, 4, 16],
      whiteBox: steps === 0 ? false : { steps },
    };
  }
  return { dataset, model, epsilon, delta, confidence, shadowModels, seed, nonPrivate, priv, canaries };
}

export const audit: Command = {
  async run(argv) {
    let values: Values;
    try {
      ({ values } = parseCommandArgs(argv, OPTIONS));
    } catch (e) {
      return usageError('audit', e);
    }
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    let plan: AuditPlan | { mechanism: GaussianAuditOptions };
    try {
      plan = values.mechanism !== undefined ? { mechanism: parseMechanism(values) } : parseAudit(values);
    } catch (e) {
      return usageError('audit', e);
    }
    if ('mechanism' in plan) return mechanismAudit(plan.mechanism, values.json);
    const { dataset, model, epsilon, delta, confidence, shadowModels, seed, nonPrivate, priv, canaries } = plan;
    const data = loadAuditDataset(dataset, model);
    const result = runAudit({
      data,
      model,
      epsilon,
      delta,
      shadowModels,
      nonPrivate,
      private: priv,
      seed,
      confidence,
      ...(canaries ? { canaries } : {}),
      onProgress: progressReporter(),
    });
    if (values.plot !== undefined) {
      const name = result.nonPrivate.primaryAttack;
      const svg = rocSvg(
        [
          {
            label: `non-private (AUC ${result.nonPrivate.attacks[name]!.auc.toFixed(3)})`,
            roc: result.nonPrivate.attacks[name]!.roc,
          },
          {
            label: `ε = ${epsilon} (AUC ${result.private.attacks[name]!.auc.toFixed(3)})`,
            roc: result.private.attacks[name]!.roc,
          },
        ],
        { title: `${name} on ${dataset}/${model}` },
      );
      writeFileSync(values.plot, svg);
    }
    const summary = auditSummary(result, { dataset, model, seed });
    if (values.json) console.log(JSON.stringify(summary));
    else {
      console.log(
        auditTable(
          result,
          `dpfl audit: ${dataset}/${model}, ${result.members} members / ${result.nonMembers} non-members, ${shadowModels} shadow models per regime, δ = ${delta}`,
        ),
      );
      if (values.plot !== undefined) console.log(`ROC plot written to ${values.plot}`);
    }
    if (summary.privacyClaimViolated) {
      console.error(
        `dpfl audit: PRIVACY CLAIM VIOLATED: an attack certifies more leakage than ε = ${result.private.epsilon.toFixed(3)} allows`,
      );
      return 3;
    }
    return 0;
  },
};
