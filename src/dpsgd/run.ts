// A complete training run from plain options (what `dpfl train` parses): dataset, split, model,
// sampler, calibrated DP optimizer, trainer; saved to and resumed from checkpoints bit-identically.
import type { AccountantState } from '../accounting/index.js';
import { splitDataset, type Dataset } from '../data/dataset.js';
import { loadDataset, type DatasetName } from '../data/registry.js';
import { readSpamCorpus, spamFromMessages, subjectAndBody } from '../data/spam.js';
import { genderSwapBags } from '../fairness/augment.js';
// train.ts and the utility bench name datasets through here.
export type { DatasetName };
import { invalidArgument, invalidType } from '../errors.js';
import {
  booleanValue,
  nonNegativeFinite,
  nonNegativeInteger,
  oneOf,
  openUnitInterval,
  positiveFinite,
  positiveInteger,
  requiredObject,
} from '../validate.js';
import { dataset } from '../fl/validate.js';
import { createModel, type ModelKind, type ModelSpec } from '../models/zoo.js';
import type { Sequential } from '../models/sequential.js';
import type { BagCombiner } from '../models/layers.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { ClippingKind } from './clipping.js';
import { makePrivate } from './make-private.js';
import { DpOptimizer, type OptimizerState, type UpdateRule } from './optimizer.js';
import { NonPrivateOptimizer } from './non-private.js';
import { FixedSizeSampler, type Sampler } from './sampler.js';
import { Trainer } from './trainer.js';

export interface RunConfig {
  dataset: DatasetName;
  model: ModelKind;
  epsilon: number;
  delta: number;
  epochs: number;
  batchSize: number;
  clipping: ClippingKind;
  maxGradNorm: number;
  nonPrivate: boolean;
  /** Reproducible run (sampler, noise, initialisation); absent: secure noise and sampling. */
  seed?: number;
  optimizer: 'sgd' | 'adam';
  lr: number;
  momentum: number;
  maxPhysicalBatch: number;
  /** Hidden activation of the mlp and text models (default relu). */
  activation?: 'relu' | 'tanh';
  /** How token bags combine their rows (bags datasets; default mean). */
  combiner?: BagCombiner;
  /**
   * DP-AdaFEST on the model's embedding table (text, or linear on bags): r = σ₁/σ₂, threshold τ,
   * contribution clip C₁ (DpOptimizer's sparseEmbeddings; the table is the model's).
   */
  sparseEmbeddings?: { ratio: number; threshold: number; contributionClip?: number };
  /**
   * DP-FEST on the model's embedding table: train only the `count` rows with the largest noisy
   * clipped counts over the training set, released once at σ_f = noiseMultiplier (makePrivate's
   * frequentRows; its event is in the run's ledger and calibration). Exclusive with sparseEmbeddings.
   */
  frequentRows?: { count: number; noiseMultiplier: number; contributionClip?: number };
  /**
   * 'gender-swap' (text datasets, bags models): each training text with a gendered term is merged with its
   * gender-swapped twin into ONE example (src/fairness/augment.ts): the privacy unit stays one original example,
   * so ε is unchanged. The test split is not augmented.
   */
  augment?: 'gender-swap';
}

export interface Run {
  config: RunConfig;
  train: Dataset;
  test: Dataset;
  model: Sequential;
  spec: ModelSpec;
  sampler: Sampler;
  /** The DP optimizer, or NonPrivateOptimizer for config.nonPrivate (no ledger). */
  optimizer: DpOptimizer | NonPrivateOptimizer;
  trainer: Trainer;
  totalSteps: number;
  noiseMultiplier: number;
}

/** Split seed: fixed, so the test set is the same for every run of a dataset. */
export const SPLIT_SEED = 20240601;

/** `dpfl train`'s datasets: the registry's defaults (synthetic: bags for the text model, else dense). */
export function loadNamedDataset(name: DatasetName, modelKind: ModelKind): Dataset {
  return loadDataset(name, name === 'synthetic' && modelKind === 'text' ? { representation: 'bags' } : {}).dataset;
}

function specFor(config: RunConfig, data: Dataset): ModelSpec {
  const spec: ModelSpec = { kind: config.model, inputDim: data.featureDim, input: data.kind, classes: data.classes };
  if (config.model === 'mlp' && data.kind === 'dense' && data.featureDim < 256) spec.hidden = [64, 32];
  if (config.model === 'mlp' && data.kind === 'bags') spec.hidden = [64, 32];
  if (config.activation !== undefined) spec.activation = config.activation;
  if (config.combiner !== undefined && data.kind === 'bags') spec.combiner = config.combiner;
  return spec;
}

/** The sparseEmbeddings option on the model's table (a model with an EmbeddingBag first). */
function sparseFor(config: RunConfig, model: Sequential) {
  const table = model.embeddingTable;
  if (table === undefined) {
    const expected = 'absent for a model without an embedding table (dense input)';
    throw invalidArgument('config.sparseEmbeddings', expected, config.model);
  }
  return { ...config.sparseEmbeddings!, table: { offset: table.offset, rows: table.rows, dim: table.dim } };
}

/** makePrivate's frequentRows on the model's table and the training set's bags. */
function frequentRowsFor(config: RunConfig, model: Sequential, train: Dataset) {
  const table = model.embeddingTable;
  if (table === undefined || train.indices === undefined || train.offsets === undefined) {
    const expected = 'absent for a model without an embedding table (dense input)';
    throw invalidArgument('config.frequentRows', expected, config.model);
  }
  const { offset, rows, dim } = table;
  return {
    ...config.frequentRows!,
    table: { offset, rows, dim },
    bags: { indices: train.indices, offsets: train.offsets },
  };
}

/** Runs made by createRun: saveRun and restoreRun read their internals, so only these are accepted. */
const runs = new WeakSet<object>();

function checkRun(run: unknown): Run {
  if (typeof run !== 'object' || run === null || !runs.has(run)) throw invalidType('run', 'a Run from createRun', run);
  return run as Run;
}

/** The whole configuration, before any dataset is loaded or any budget computed. */
function checkConfig(config: unknown): RunConfig {
  const c = requiredObject('config', config as RunConfig);
  oneOf('config.dataset', c.dataset, ['spam', 'mnist', 'synthetic']);
  oneOf('config.model', c.model, ['linear', 'mlp', 'text']);
  oneOf('config.clipping', c.clipping, ['flat', 'per-layer', 'adaptive', 'automatic']);
  oneOf('config.optimizer', c.optimizer, ['sgd', 'adam']);
  booleanValue('config.nonPrivate', c.nonPrivate);
  if (!c.nonPrivate) {
    positiveFinite('config.epsilon', c.epsilon);
    openUnitInterval('config.delta', c.delta);
    positiveFinite('config.maxGradNorm', c.maxGradNorm);
  }
  positiveFinite('config.epochs', c.epochs);
  positiveInteger('config.batchSize', c.batchSize);
  positiveInteger('config.maxPhysicalBatch', c.maxPhysicalBatch);
  positiveFinite('config.lr', c.lr);
  if (c.optimizer === 'sgd') nonNegativeFinite('config.momentum', c.momentum);
  if (c.seed !== undefined) nonNegativeInteger('config.seed', c.seed);
  if (c.activation !== undefined) oneOf('config.activation', c.activation, ['relu', 'tanh']);
  if (c.combiner !== undefined) oneOf('config.combiner', c.combiner, ['mean', 'sqrtn', 'sum']);
  if (c.augment !== undefined) oneOf('config.augment', c.augment, ['gender-swap']);
  if (c.sparseEmbeddings !== undefined) {
    requiredObject('config.sparseEmbeddings', c.sparseEmbeddings);
    if (c.nonPrivate) throw invalidArgument('config.sparseEmbeddings', 'absent in a non-private run', 'given');
  }
  if (c.frequentRows !== undefined) {
    requiredObject('config.frequentRows', c.frequentRows);
    if (c.nonPrivate) throw invalidArgument('config.frequentRows', 'absent in a non-private run', 'given');
    if (c.sparseEmbeddings !== undefined) {
      throw invalidArgument('config.frequentRows', 'absent with config.sparseEmbeddings (one sparse mode)', 'given');
    }
  }
  return c;
}

/**
 * A run of `config` on the named dataset, or on `data` when given. With config.augment, `texts` (one per example
 * of data, the text its bag was hashed from) are needed when data is given; spam reads its own corpus.
 */
export function createRun(config: RunConfig, data?: Dataset, texts?: string[]): Run {
  checkConfig(config);
  if (data !== undefined) dataset('data', data);
  let all: Dataset;
  if (config.augment !== undefined && data === undefined) {
    if (config.dataset !== 'spam') {
      throw invalidArgument('config.augment', 'used with a text dataset ("spam")', config.dataset);
    }
    const corpus = readSpamCorpus();
    all = spamFromMessages(corpus);
    texts = corpus.map((m) => subjectAndBody(m.text));
  } else {
    all = data ?? loadNamedDataset(config.dataset, config.model);
  }
  if (config.augment !== undefined) {
    if (all.kind !== 'bags') throw invalidArgument('config.augment', 'used with bags of hashed text', all.kind);
    if (!Array.isArray(texts) || texts.length !== all.size) {
      throw invalidArgument('texts', `one text per example of data (${all.size}) with config.augment`, texts?.length);
    }
  }
  if (config.model === 'text' && all.kind !== 'bags')
    throw invalidArgument(
      'model',
      `"linear" or "mlp" for the ${config.dataset} dataset (dense features)`,
      config.model,
    );
  const split = splitDataset(all, 0.2, SPLIT_SEED);
  const { test } = split;
  let { train } = split;
  const spec = specFor(config, train);
  if (config.augment === 'gender-swap') {
    // The same rows as the plain split (it depends only on the size and seed); the test side stays plain.
    const combiner = spec.combiner ?? 'mean';
    const merged = genderSwapBags(texts!, all.labels, { buckets: all.featureDim, combiner }).dataset;
    train = splitDataset({ ...merged, name: all.name, classes: all.classes }, 0.2, SPLIT_SEED).train;
  }
  const model = createModel(spec, config.seed ?? 0);
  if (config.batchSize > train.size)
    throw invalidArgument('batchSize', `at most the training set size (${train.size})`, config.batchSize);
  const update: UpdateRule =
    config.optimizer === 'adam'
      ? { kind: 'adam', lr: config.lr }
      : { kind: 'sgd', lr: config.lr, momentum: config.momentum };
  let sampler: Sampler;
  let optimizer: DpOptimizer | NonPrivateOptimizer;
  let totalSteps: number;
  let noiseMultiplier = 0;
  if (config.nonPrivate) {
    sampler = new FixedSizeSampler({
      datasetSize: train.size,
      batchSize: config.batchSize,
      ...(config.seed !== undefined ? { seed: config.seed } : {}),
    });
    totalSteps = Math.max(1, Math.round((config.epochs * train.size) / config.batchSize));
    optimizer = new NonPrivateOptimizer({ params: model.params, update });
  } else {
    const setup = makePrivate({
      params: model.params,
      groupEnds: model.groupEnds,
      datasetSize: train.size,
      batchSize: config.batchSize,
      targetEpsilon: config.epsilon,
      delta: config.delta,
      epochs: config.epochs,
      maxGradNorm: config.maxGradNorm,
      clipping: config.clipping,
      update,
      ...(config.seed !== undefined ? { seed: config.seed } : {}),
      ...(config.sparseEmbeddings !== undefined ? { sparseEmbeddings: sparseFor(config, model) } : {}),
      ...(config.frequentRows !== undefined ? { frequentRows: frequentRowsFor(config, model, train) } : {}),
    });
    ({ sampler, optimizer, steps: totalSteps, noiseMultiplier } = setup);
  }
  const trainer = new Trainer({
    model,
    data: train,
    sampler,
    optimizer,
    private: !config.nonPrivate,
    maxPhysicalBatch: config.maxPhysicalBatch,
  });
  const run = { config, train, test, model, spec, sampler, optimizer, trainer, totalSteps, noiseMultiplier };
  runs.add(run);
  return run;
}

/** ε spent so far at δ, or null for a non-private run (it has no ledger: nothing it releases is covered). */
export function spentEpsilon(run: Run, delta: number): number | null {
  return run.optimizer instanceof DpOptimizer ? run.optimizer.accountant.epsilon(delta) : null;
}

function checkpointConfig(run: Run): unknown {
  return { run: run.config, spec: run.spec, trainSize: run.train.size, paramCount: run.model.paramCount };
}

export function saveRun(run: Run, file: string): void {
  checkRun(run);
  const opt = run.optimizer.getState();
  const buffers: Record<string, Float32Array> = { params: run.model.params };
  for (const [k, v] of Object.entries(opt.buffers)) buffers[`optimizer.${k}`] = v;
  const sampler = run.sampler.getState();
  // A non-private run has no C and no ledger: all its steps are plain.
  const { noiseMultiplier } = run;
  const { step } = opt;
  // DP-FEST: the rows its ledger's selection chose (a resumed run trains those, not a new draw's).
  const sparseRows = 'sparseRows' in opt ? (opt as OptimizerState).sparseRows : undefined;
  const rows = sparseRows === undefined ? {} : { frequentRows: Array.from(sparseRows) };
  const state =
    'maxGradNorm' in opt
      ? {
          step,
          plainSteps: 0,
          maxGradNorm: opt.maxGradNorm,
          noiseMultiplier,
          sampler,
          accountant: opt.accountant,
          ...rows,
        }
      : { step, plainSteps: step, noiseMultiplier, sampler };
  saveCheckpoint(file, { config: checkpointConfig(run), state, buffers });
}

/**
 * Restores a run saved by saveRun into a freshly created run of the same configuration. The ledger
 * is restored into the run's own (budget-guarded) accountant and the step count re-derived from it:
 * a checkpoint whose step disagrees with its ledger is refused, and nothing is changed.
 */
export function restoreRun(run: Run, file: string): void {
  checkRun(run);
  const ck = loadCheckpoint(file, checkpointConfig(run));
  if (typeof ck.state !== 'object' || ck.state === null) {
    throw invalidArgument('checkpoint state', 'an object', ck.state);
  }
  const st = ck.state as {
    step: number;
    plainSteps?: number;
    maxGradNorm: number;
    sampler: ReturnType<Sampler['getState']>;
    accountant: AccountantState;
    frequentRows?: number[];
  };
  if (st.accountant === undefined && !run.config.nonPrivate) {
    throw invalidArgument('checkpoint state.accountant', 'the ledger of the run', undefined);
  }
  const params = ck.buffers.params;
  if (!params || params.length !== run.model.paramCount)
    throw invalidArgument('checkpoint params', `${run.model.paramCount} floats`, params?.length);
  const optBuffers: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(ck.buffers))
    if (k.startsWith('optimizer.')) optBuffers[k.slice('optimizer.'.length)] = v;
  // Each setState validates before it changes anything; the sampler is rolled back if the optimizer refuses.
  const samplerBefore = run.sampler.getState();
  run.sampler.setState(st.sampler);
  try {
    run.optimizer.setState({
      step: st.step,
      maxGradNorm: st.maxGradNorm,
      buffers: optBuffers,
      ...(st.accountant !== undefined ? { accountant: st.accountant } : {}),
      ...(st.frequentRows !== undefined ? { sparseRows: st.frequentRows } : {}),
      // Checkpoints from before plainSteps existed: a non-private run's steps were all plain.
      plainSteps: st.plainSteps ?? (run.config.nonPrivate ? st.step : 0),
    });
  } catch (e) {
    run.sampler.setState(samplerBefore);
    throw e;
  }
  run.model.params.set(params);
}
