// Accumulated prediction sensitivity (issue 17 item 3): Krishna, Gupta, Verma, Dhamala, Pruksachatkun and
// Chang, "Measuring Fairness of Text Classifiers via Prediction Sensitivity", ACL 2022, §3. The prediction
// sensitivity of a classifier f at an input x is a weighted sum of its input Jacobian, v^T |∂f/∂x| w: v picks
// the output (here the probability of one class, v one-hot) and w weighs each input feature by how much it tells
// the protected attribute — taken from a protected-status classifier g as w = |∂g/∂x| / ‖∂g/∂x‖₁ (or fixed
// feature weights given by the caller). APS averages it over a dataset:
//   PS(x) = Σ_j w_j(x) · |∂p_task(x)/∂x_j|,   w_j(x) = |∂p_prot(x)/∂x_j| / Σ_l |∂p_prot(x)/∂x_l|,
//   APS   = (1/N) Σ_i PS(x_i).
// (The paper's text was not reachable from this workplace when this was written: the formula follows its
// abstract and the definition in issue 17; check the paper's equation numbers before citing them.)
// A model that ignores what predicts the protected attribute gets APS ≈ 0; one that leans on it gets a large
// APS. Features: dense input, every coordinate; bags input (hashed n-grams), the distinct rows of each bag,
// each differentiated with respect to its weight in the bag (Sequential.inputGradient). The interval is a
// percentile bootstrap over examples (bootstrap.ts). Pure TypeScript: the models passed in bring their own
// kernels (a dpfl Sequential uses the addon; this file imports none of it).
import type { Dataset } from '../data/dataset.js';
import { gatherBatch } from '../data/dataset.js';
import { Random } from '../data/random.js';
import { invalidArgument, invalidType } from '../errors.js';
import type { Batch } from '../models/batch.js';
import {
  nonNegativeInteger,
  numberArray,
  openUnitInterval,
  optionsObject,
  positiveInteger,
  requiredObject,
  withMethods,
} from '../validate.js';
import { bootstrapMean, type MetricInterval } from './bootstrap.js';

/** What prediction sensitivity needs of a model: dpfl's Sequential has it (any other model may provide it). */
export interface InputGradientModel {
  readonly inputKind: 'dense' | 'bags';
  readonly classes: number;
  /** ∂p_c/∂input per example: batch × inputDim (dense), or one value per bag entry (bags). */
  inputGradient(batch: Batch, classIndex: number | Int32Array): Float32Array;
}

export interface PredictionSensitivityInput {
  /** The classifier under audit. */
  task: InputGradientModel;
  /** The protected-status classifier (e.g. trained on protectedStatusLabels); or give featureWeights. */
  protectedModel?: InputGradientModel;
  /**
   * Fixed non-negative feature weights (featureDim values) instead of protectedModel, e.g. the magnitudes of a
   * linear protected model's weights; normalised to sum 1 over each example's features (every coordinate for
   * dense input, the bag's distinct rows for bags).
   */
  featureWeights?: ArrayLike<number>;
  /** The examples (a dpfl Dataset, dense or bags; labels are not read). */
  data: Dataset;
  /** Class whose probability the task model is differentiated for (default 1). */
  taskClass?: number;
  /** Class of the protected model read as "protected" (default 1). */
  protectedClass?: number;
}

export interface PredictionSensitivityOptions {
  /** Examples per inputGradient call (default 256). */
  batchSize?: number;
  /** Bootstrap resamples of the mean (default 1000; 0: no interval, NaN bounds). */
  bootstrap?: number;
  /** Confidence level of the interval (default 0.95). */
  confidence?: number;
  /** Seed of the resampling (default 0). */
  seed?: number;
}

export interface PredictionSensitivityResult {
  /** APS: the mean of perExample. */
  aps: number;
  /** APS with its percentile bootstrap interval. */
  interval: MetricInterval;
  /** PS(x_i) of each example. */
  perExample: Float64Array;
  /**
   * Examples with no weight on any of their features (the protected model's gradient 0 on all of them, or
   * featureWeights 0 there): w is undefined and their PS counts as 0.
   */
  flatProtected: number;
  taskClass: number;
  protectedClass: number;
  bootstrap: { resamples: number; confidence: number; seed: number };
}

function model(name: string, value: unknown): InputGradientModel {
  const m = withMethods<InputGradientModel>(
    name,
    value,
    'a model with inputGradient (a dpfl Sequential)',
    'inputGradient',
  );
  if (m.inputKind !== 'dense' && m.inputKind !== 'bags') {
    throw invalidArgument(`${name}.inputKind`, '"dense" or "bags"', m.inputKind);
  }
  positiveInteger(`${name}.classes`, m.classes);
  return m;
}

function classIn(name: string, value: unknown, classes: number): number {
  const c = value === undefined ? 1 : value;
  if (typeof c !== 'number') throw invalidType(name, 'an integer', c);
  if (!Number.isInteger(c) || c < 0 || c >= classes) throw invalidArgument(name, `an integer in [0, ${classes})`, c);
  return c;
}

function gradient(name: string, m: InputGradientModel, batch: Batch, cls: number, length: number): Float32Array {
  const g: unknown = m.inputGradient(batch, cls);
  if (!(g instanceof Float32Array || g instanceof Float64Array) || g.length !== length) {
    throw invalidArgument(`${name}.inputGradient(batch)`, `a Float32Array of ${length} values`, g);
  }
  return g as Float32Array;
}

/**
 * Accumulated prediction sensitivity of `task` on `data`, the features weighted by `protectedModel`'s gradient
 * (or by featureWeights). Both models must read the same input (dense of the same width, or the same hashed
 * bags). Throws a typed error for mismatched models, an empty dataset, or feature weights of the wrong length.
 */
export function predictionSensitivity(
  input: PredictionSensitivityInput,
  options?: PredictionSensitivityOptions,
): PredictionSensitivityResult {
  const inp = requiredObject('input', input);
  const opts = optionsObject('options', options);
  const task = model('task', inp.task);
  const data = requiredObject('data', inp.data);
  if (data.kind !== task.inputKind) {
    throw invalidArgument('data.kind', `the task model's input kind ("${task.inputKind}")`, data.kind);
  }
  const n = positiveInteger('data.size', data.size);
  const dim = positiveInteger('data.featureDim', data.featureDim);
  if ((inp.protectedModel === undefined) === (inp.featureWeights === undefined)) {
    throw invalidArgument('input', 'exactly one of protectedModel and featureWeights', 'both or neither');
  }
  const prot = inp.protectedModel === undefined ? undefined : model('protectedModel', inp.protectedModel);
  if (prot !== undefined && prot.inputKind !== task.inputKind) {
    throw invalidArgument('protectedModel.inputKind', `the task model's ("${task.inputKind}")`, prot.inputKind);
  }
  let fixed: Float64Array | undefined;
  if (inp.featureWeights !== undefined) {
    fixed = numberArray('featureWeights', inp.featureWeights, 'an array of non-negative numbers');
    if (fixed.length !== dim) throw invalidArgument('featureWeights.length', `data.featureDim (${dim})`, fixed.length);
    let total = 0;
    fixed.forEach((w, j) => {
      if (!(w >= 0 && Number.isFinite(w))) throw invalidArgument(`featureWeights[${j}]`, 'finite and >= 0', w);
      total += w;
    });
    if (total === 0) throw invalidArgument('featureWeights', 'not all zero', 'zeros');
    for (let j = 0; j < dim; j++) fixed[j] = fixed[j]! / total;
  }
  const taskClass = classIn('taskClass', inp.taskClass, task.classes);
  const protectedClass = prot === undefined ? -1 : classIn('protectedClass', inp.protectedClass, prot.classes);
  const chunk = opts.batchSize === undefined ? 256 : positiveInteger('options.batchSize', opts.batchSize);
  const resamples = opts.bootstrap === undefined ? 1000 : nonNegativeInteger('options.bootstrap', opts.bootstrap);
  const confidence = opts.confidence === undefined ? 0.95 : openUnitInterval('options.confidence', opts.confidence);
  const seed = opts.seed === undefined ? 0 : opts.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed))
    throw invalidArgument('options.seed', 'a safe integer', seed);

  const perExample = new Float64Array(n);
  let flatProtected = 0;
  for (let start = 0; start < n; start += chunk) {
    const b = Math.min(chunk, n - start);
    const batch = gatherBatch(
      data,
      Int32Array.from({ length: b }, (_, i) => start + i),
    );
    const bags = batch.bags;
    const length = bags ? bags.indices.length : b * dim;
    const gt = gradient('task', task, batch, taskClass, length);
    const gp = prot ? gradient('protectedModel', prot, batch, protectedClass, length) : undefined;
    for (let r = 0; r < b; r++) {
      // The example's features: every coordinate (dense), or the first entry of each distinct row (bags).
      const entries: number[] = [];
      const feature: number[] = [];
      if (bags) {
        const seen = new Set<number>();
        for (let t = bags.offsets[r]!; t < bags.offsets[r + 1]!; t++) {
          const row = bags.indices[t]!;
          if (seen.has(row)) continue;
          seen.add(row);
          entries.push(t);
          feature.push(row);
        }
      } else {
        for (let j = 0; j < dim; j++) {
          entries.push(r * dim + j);
          feature.push(j);
        }
      }
      let norm = 0;
      if (gp) for (const t of entries) norm += Math.abs(gp[t]!);
      else for (const j of feature) norm += fixed![j]!;
      if (norm === 0) {
        flatProtected++;
        continue;
      }
      let ps = 0;
      entries.forEach((t, k) => {
        const w = gp ? Math.abs(gp[t]!) : fixed![feature[k]!]!;
        ps += w * Math.abs(gt[t]!);
      });
      perExample[start + r] = ps / norm;
    }
  }
  const interval = bootstrapMean(perExample, resamples, confidence, new Random(seed));
  return {
    aps: interval.value,
    interval,
    perExample,
    flatProtected,
    taskClass,
    protectedClass,
    bootstrap: { resamples, confidence, seed },
  };
}
