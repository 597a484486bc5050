// `dpfl train`: train a built-in model with DP-SGD (ghost clipping, Poisson sampling, calibrated
// noise, budget guard), report test accuracy, ε and δ spent, steps and time per step.
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { accuracy, Trainer } from '../../dpsgd/trainer.js';
import { assertCheckpointWritable } from '../../dpsgd/checkpoint.js';
import { createRun, restoreRun, saveRun, spentEpsilon, type DatasetName, type RunConfig } from '../../dpsgd/run.js';
import type { ClippingKind } from '../../dpsgd/clipping.js';
import type { ModelKind } from '../../models/zoo.js';
import { flagOptions, parseCommandArgs, stringOptions, type Command, usageError } from '../command.js';
import { optionParser } from '../options.js';
import { ProgressLine } from '../progress.js';

const HELP = `usage: dpfl train [--dataset spam|mnist|synthetic] [--model linear|mlp|text] [--epsilon 3] [--delta 1e-5]
                  [--epochs N] [--batch-size B] [--clipping flat|per-layer|adaptive|automatic]
                  [--max-grad-norm C] [--optimizer sgd|adam] [--lr LR] [--momentum M] [--non-private]
                  [--activation relu|tanh] [--combiner mean|sqrtn|sum] [--seed S] [--save FILE] [--resume FILE]
                  [--max-physical-batch N] [--compare] [--withhold-unnoised-stats] [--json]
                  [--sparse-embeddings [--sparse-ratio 1] [--sparse-threshold 5] [--contribution-clip 1]]
                  [--frequent-rows K [--frequent-rows-noise 5] [--contribution-clip 1]]
                  [--augment gender-swap]

Trains a built-in model with DP-SGD: Poisson sampling, per-example clipping by ghost norms, noise
calibrated so the whole run spends at most ε at δ, and a budget guard. Without arguments: the text
classifier on the SpamAssassin corpus at ε = 3, δ = 1e-5. --seed makes the run reproducible (seeded
sampler and noise: for experiments, not deployment); without it noise and sampling are secure.
--compare also times non-private steps of the same model and batch size in the same process and
reports the private/non-private time ratio.
The progress line's loss and examples/s are exact functions of the private batches, outside ε;
--withhold-unnoised-stats leaves them out (progress shows steps/s), so everything printed during
training is covered by ε. The final test accuracy reads the held-out split, not the training set.
--sparse-embeddings (text, or linear on bags) trains with DP-AdaFEST (Ghazi et al., NeurIPS 2023):
each step a noisy, per-example-clipped count of the rows every message touches selects embedding
rows (count ≥ --sparse-threshold τ), and the gradient noise lands only on those rows and on the
dense layers. The calibrated σ is split into the selection's σ₁ and the gradient's σ₂ with
σ₁/σ₂ = --sparse-ratio and σ₁⁻² + σ₂⁻² = σ⁻², so ε is unchanged; --contribution-clip is C₁.
--frequent-rows K (text, or linear on bags) trains with DP-FEST: before training, the K embedding rows
with the largest noisy per-example-clipped counts over the training set are chosen once (Gaussian
noise of std --frequent-rows-noise × C₁; that release is in the ledger and in the calibration of σ),
and every step adds noise, and updates, only those rows and the dense layers (--resume keeps the saved rows).
--augment gender-swap (spam; text, linear or mlp on bags): each training message with a gendered word is
merged with its gender-swapped twin into ONE example (the bag holds both halves, weighted so the embedding
is the average of the two): one person's message is still one clipped contribution, so ε is unchanged
(docs/fairness.md). The test split is not augmented.`;

const { choice, positive, integer, openUnit, where, fail } = optionParser('prose');

// Per dataset/model defaults, tuned at ε = 3 (δ = 1e-5, seed 1; see docs/dpsgd.md and the settings
// per ε in src/bench/utility.ts): batch 256, 20 epochs, C = 1, SGD with momentum 0.9.
const DEFAULTS: Record<string, Partial<RunConfig>> = {
  'spam/text': { epochs: 20, batchSize: 256, lr: 0.1, maxGradNorm: 1, combiner: 'sqrtn' },
  'spam/linear': { epochs: 20, batchSize: 256, lr: 0.5, maxGradNorm: 1, combiner: 'sqrtn' },
  'spam/mlp': { epochs: 20, batchSize: 256, lr: 0.25, maxGradNorm: 1 },
  'mnist/linear': { epochs: 20, batchSize: 256, lr: 0.1, maxGradNorm: 1 },
  'mnist/mlp': { epochs: 20, batchSize: 256, lr: 0.05, maxGradNorm: 1, activation: 'tanh' },
};

export function parseTrainArgs(argv: string[]): {
  config: RunConfig;
  save?: string;
  resume?: string;
  json: boolean;
  help: boolean;
  compare: boolean;
  withholdUnnoisedStats: boolean;
} {
  const { values } = parseCommandArgs(argv, {
    ...stringOptions(
      'dataset',
      'model',
      'epsilon',
      'delta',
      'epochs',
      'batch-size',
      'clipping',
      'max-grad-norm',
      'optimizer',
      'lr',
      'momentum',
      'seed',
      'save',
      'resume',
      'max-physical-batch',
      'activation',
      'combiner',
      'sparse-ratio',
      'sparse-threshold',
      'contribution-clip',
      'frequent-rows',
      'frequent-rows-noise',
      'augment',
    ),
    ...flagOptions('non-private', 'compare', 'withhold-unnoised-stats', 'sparse-embeddings'),
  });
  const dataset = choice<DatasetName>('dataset', values.dataset, ['spam', 'mnist', 'synthetic'], 'spam');
  const model = choice<ModelKind>(
    'model',
    values.model,
    ['linear', 'mlp', 'text'],
    dataset === 'mnist' ? 'mlp' : 'text',
  );
  const d = DEFAULTS[`${dataset}/${model}`] ?? { epochs: 10, batchSize: 128, lr: 1, maxGradNorm: 1 };
  const delta = openUnit('delta', values.delta, 1e-5);
  const momentum = where('momentum', values.momentum, 0.9, (m) => m >= 0 && m < 1, 'in [0, 1)');
  const seed = values.seed === undefined ? undefined : integer('seed', values.seed, undefined, 0);
  const sparse = values['sparse-embeddings'] === true;
  const fest = values['frequent-rows'] !== undefined;
  if (sparse && fest)
    fail('frequent-rows', 'absent with --sparse-embeddings (one sparse mode)', values['frequent-rows']);
  for (const name of ['sparse-ratio', 'sparse-threshold'] as const) {
    if (!sparse && values[name] !== undefined)
      throw new RangeError(`--${name} must be given only with --sparse-embeddings, received "${values[name]}"`);
  }
  if (!sparse && !fest && values['contribution-clip'] !== undefined) {
    fail('contribution-clip', 'given only with --sparse-embeddings or --frequent-rows', values['contribution-clip']);
  }
  if (!fest && values['frequent-rows-noise'] !== undefined) {
    fail('frequent-rows-noise', 'given only with --frequent-rows', values['frequent-rows-noise']);
  }
  const frequentRows = fest
    ? {
        count: integer('frequent-rows', values['frequent-rows'], undefined, 1),
        noiseMultiplier: positive('frequent-rows-noise', values['frequent-rows-noise'], 5),
        contributionClip: positive('contribution-clip', values['contribution-clip'], 1),
      }
    : undefined;
  const sparseEmbeddings = sparse
    ? {
        ratio: positive('sparse-ratio', values['sparse-ratio'], 1),
        threshold: where('sparse-threshold', values['sparse-threshold'], 5, Number.isFinite, 'a finite number'),
        contributionClip: positive('contribution-clip', values['contribution-clip'], 1),
      }
    : undefined;
  if (values.augment !== undefined) {
    choice('augment', values.augment, ['gender-swap'] as const, 'gender-swap');
    if (dataset !== 'spam') fail('augment', 'used with --dataset spam (a text dataset)', dataset);
  }
  const config: RunConfig = {
    dataset,
    model,
    epsilon: positive('epsilon', values.epsilon, 3),
    delta,
    epochs: positive('epochs', values.epochs, d.epochs!),
    batchSize: integer('batch-size', values['batch-size'], d.batchSize!, 1),
    clipping: choice<ClippingKind>('clipping', values.clipping, ['flat', 'per-layer', 'adaptive', 'automatic'], 'flat'),
    maxGradNorm: positive('max-grad-norm', values['max-grad-norm'], d.maxGradNorm!),
    nonPrivate: values['non-private'] === true,
    optimizer: choice('optimizer', values.optimizer, ['sgd', 'adam'] as const, 'sgd'),
    lr: positive('lr', values.lr, d.lr!),
    momentum,
    maxPhysicalBatch: integer('max-physical-batch', values['max-physical-batch'], 1024, 1),
    activation: choice('activation', values.activation, ['relu', 'tanh'] as const, d.activation ?? 'relu'),
    combiner: choice('combiner', values.combiner, ['mean', 'sqrtn', 'sum'] as const, d.combiner ?? 'mean'),
    ...(seed !== undefined ? { seed } : {}),
    ...(sparseEmbeddings !== undefined ? { sparseEmbeddings } : {}),
    ...(frequentRows !== undefined ? { frequentRows } : {}),
    ...(values.augment !== undefined ? { augment: 'gender-swap' as const } : {}),
  };
  if (values.resume !== undefined && !existsSync(values.resume))
    throw new RangeError(`--resume must name an existing checkpoint, received "${values.resume}"`);
  return {
    config,
    json: values.json,
    help: values.help,
    compare: values.compare === true,
    withholdUnnoisedStats: values['withhold-unnoised-stats'] === true,
    ...(values.save !== undefined ? { save: values.save } : {}),
    ...(values.resume !== undefined ? { resume: values.resume } : {}),
  };
}

export const train: Command = {
  async run(argv) {
    let parsed: ReturnType<typeof parseTrainArgs>;
    try {
      parsed = parseTrainArgs(argv);
    } catch (e) {
      return usageError('train', e);
    }
    if (parsed.help) {
      console.log(HELP);
      return 0;
    }
    const { config } = parsed;
    if (parsed.save !== undefined) {
      // Before the first step: a checkpoint that cannot be written must not cost a run and its ε.
      try {
        assertCheckpointWritable(parsed.save);
      } catch (e) {
        console.error(`dpfl train: --save: ${e instanceof Error ? e.message : String(e)}`);
        return 2;
      }
    }
    const run = createRun(config);
    if (parsed.resume !== undefined) restoreRun(run, parsed.resume);
    const t0 = performance.now();
    const startStep = run.optimizer.steps;
    let examples = 0;
    let selectedRows = 0;
    const delta = config.delta;
    const progress = new ProgressLine();
    // Ctrl-C finishes the current step, then stops cleanly (and saves with --save).
    let interruptRequested = false;
    const onSigint = () => {
      interruptRequested = true;
    };
    process.once('SIGINT', onSigint);
    // The same trainer, told to return only what ε covers (no loss, no realised batch size).
    const trainer = parsed.withholdUnnoisedStats
      ? new Trainer({ ...run.trainer.options, withholdUnnoisedStats: true })
      : run.trainer;
    const { stoppedByBudget, interrupted } = await trainer.runAsync(
      run.totalSteps,
      (r) => {
        examples += r.examples ?? 0;
        selectedRows += r.report?.selectedRows ?? 0;
        progress.update(r.step + 1, run.totalSteps, () => {
          const eps = spentEpsilon(run, delta)?.toFixed(3) ?? '∞ (non-private)';
          const seconds = (performance.now() - t0) / 1000;
          const loss = r.loss === undefined ? '' : `  loss ${r.loss.toFixed(4)}`;
          const rate =
            r.examples === undefined
              ? `${((r.step + 1 - startStep) / seconds).toFixed(1)} steps/s`
              : `${(examples / seconds).toFixed(0)} examples/s`;
          return `step ${r.step + 1}/${run.totalSteps}${loss}  ε ${eps}  ${rate}`;
        });
      },
      () => interruptRequested,
    );
    process.removeListener('SIGINT', onSigint);
    progress.finish();
    const elapsed = performance.now() - t0;
    const stepsTaken = run.optimizer.steps - startStep;
    if (parsed.save !== undefined) saveRun(run, parsed.save);
    let msPerStepNonPrivate: number | null = null;
    if (parsed.compare && !config.nonPrivate && stepsTaken > 0) {
      // The same model shape, data and batch size, trained without privacy in this process.
      const { sparseEmbeddings: _private, frequentRows: _fest, ...plainConfig } = config;
      const plain = createRun({ ...plainConfig, nonPrivate: true }, undefined);
      const n = Math.min(stepsTaken, 50);
      plain.trainer.run(2);
      const t = performance.now();
      plain.trainer.run(2 + n);
      msPerStepNonPrivate = (performance.now() - t) / n;
    }
    const report = {
      dataset: config.dataset,
      model: config.model,
      accuracy: accuracy(run.model, run.test),
      epsilon: spentEpsilon(run, delta),
      delta: config.nonPrivate ? null : delta,
      targetEpsilon: config.nonPrivate ? null : config.epsilon,
      noiseMultiplier: config.nonPrivate ? null : run.noiseMultiplier,
      steps: run.optimizer.steps,
      msPerStep: stepsTaken > 0 ? elapsed / stepsTaken : null,
      msPerStepNonPrivate,
      ratio: msPerStepNonPrivate !== null && stepsTaken > 0 ? elapsed / stepsTaken / msPerStepNonPrivate : null,
      stoppedByBudget,
      interrupted,
      trainSize: run.train.size,
      testSize: run.test.size,
      batchSize: config.batchSize,
      epochs: config.epochs,
      clipping: config.clipping,
      maxGradNorm: config.maxGradNorm,
      optimizer: config.optimizer,
      lr: config.lr,
      activation: config.activation ?? 'relu',
      combiner: config.combiner ?? 'mean',
      seed: config.seed ?? null,
      withholdUnnoisedStats: parsed.withholdUnnoisedStats,
      sparseEmbeddings: config.sparseEmbeddings ?? null,
      /** DP-AdaFEST: mean embedding rows selected per step (inside ε), and the table's rows. */
      selectedRowsPerStep:
        (config.sparseEmbeddings || config.frequentRows) && stepsTaken > 0 ? selectedRows / stepsTaken : null,
      /** DP-FEST: the rows kept and σ_f (the selection's event is in ε). */
      frequentRows: config.frequentRows ?? null,
      embeddingRows: run.model.embeddingTable?.rows ?? null,
      augment: config.augment ?? null,
    };
    if (parsed.json) {
      console.log(JSON.stringify(report));
    } else {
      console.log(
        `${config.dataset}/${config.model}: test accuracy ${(report.accuracy * 100).toFixed(2)}% on ${report.testSize} examples`,
      );
      console.log(
        config.nonPrivate
          ? '  non-private run (no privacy guarantee)'
          : `  privacy spent: ε = ${report.epsilon!.toFixed(3)} at δ = ${delta} (target ε = ${config.epsilon}, σ = ${run.noiseMultiplier.toFixed(3)}, C = ${config.maxGradNorm}, ${config.clipping} clipping)`,
      );
      console.log(
        `  ${report.steps} steps${stoppedByBudget ? ' (stopped by the budget guard)' : ''}${interrupted ? ' (interrupted)' : ''}, ${report.msPerStep?.toFixed(2) ?? '-'} ms per step`,
      );
      if (report.selectedRowsPerStep !== null)
        console.log(
          `  sparse embeddings (${config.frequentRows ? 'DP-FEST' : 'DP-AdaFEST'}): ${report.selectedRowsPerStep.toFixed(1)} of ${report.embeddingRows} rows noised per step`,
        );
      if (report.ratio !== null)
        console.log(
          `  non-private step ${report.msPerStepNonPrivate!.toFixed(2)} ms: private/non-private ratio ${report.ratio.toFixed(2)}`,
        );
    }
    // 130: the conventional status of a run stopped by SIGINT (after its checkpoint was saved).
    return interrupted ? 130 : 0;
  },
};
