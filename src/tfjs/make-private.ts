// makePrivateTrainer for a tf.LayersModel: DP-SGD in a few lines. dpfl calibrates σ, samples (Poisson by
// default), clips (DpOptimizer.clipFactors: flat, adaptive or automatic), adds the noise, scales by
// 1 / expected batch size and charges the budget-guarded ledger; the user's tf optimizer (any
// tf.train optimizer, Adam's state included) applies the noisy gradient. Model weights are the
// user's to save (model.save); save()/load() here hold the ledger, the sampler and the optimizers.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type AccountantKind, BudgetExceededError, type PrivacyAccountant } from '../accounting/index.js';
import type { ClippingKind, ClippingRule } from '../dpsgd/clipping.js';
import { makePrivate as makePrivateSetup } from '../dpsgd/make-private.js';
import type { DpOptimizer, OptimizerState, StepReport } from '../dpsgd/optimizer.js';
import type { Sampler, SamplerState } from '../dpsgd/sampler.js';
import { invalidArgument, invalidType } from '../errors.js';
import { splitViews } from '../kernels/clip-blocks.js';
import { positiveFinite, requiredObject } from '../validate.js';
import type { ClippedGradientsFn, PerExampleLoss } from './gradient-types.js';
import { ghostClippedGradients } from './gradients.js';
import { type LossName, resolveLoss } from './loss.js';
import { perExampleClippedGradients } from './per-example.js';
import { batchSize, layersModel } from './validate.js';

export interface PrivateOptions {
  /** N: the number of examples fit() samples from (x.shape[0]). */
  datasetSize: number;
  /** Expected batch size: Poisson rate q = batchSize / datasetSize. */
  batchSize: number;
  /** Target ε for the whole run: σ is calibrated to spend at most it. Or give noiseMultiplier. */
  targetEpsilon?: number;
  noiseMultiplier?: number;
  delta: number;
  /** Planned epochs: round(epochs / q) steps, the plan σ is calibrated for and the budget certified on. */
  epochs: number;
  /** Clipping norm C (the initial C under adaptive clipping). */
  maxGradNorm: number;
  /** 'flat' (default), 'adaptive' or 'automatic'; per-layer needs per-layer norms, not available here. */
  clipping?: ClippingRule | ClippingKind;
  /** Applies the noisy gradient: tf.train.sgd, tf.train.adam, ... */
  optimizer: tf.Optimizer;
  /** A Keras loss name (the model outputs probabilities) or a per-example loss (yTrue, yPred) => [B]. */
  loss: LossName | PerExampleLoss;
  /** Reproducible sampling and noise (Philox): for experiments, not against an adversary who knows it. */
  seed?: number;
  /**
   * How clipped gradients are computed: 'ghost' (ghost clipping), 'per-example' (B batch-of-one
   * backward passes: any layer, slow) or a ClippedGradientsFn. Default: ghost.
   */
  gradients?: 'ghost' | 'per-example' | ClippedGradientsFn;
  /** 'poisson' (default: the analysis of DP-SGD) or 'fixed-size' batches. */
  sampling?: 'poisson' | 'fixed-size';
  accountant?: AccountantKind;
  /** Leave the un-noised batch statistics (loss, batch size: outside ε) out of results and logs. */
  withholdUnnoisedStats?: boolean;
}

export interface PrivateStepResult {
  /** 0-based index of the step taken. */
  step: number;
  /** Mean loss over the batch before clipping (outside ε; absent when withheld or the batch is empty). */
  loss?: number;
  /** Examples in the batch (outside ε; absent when withheld). */
  examples?: number;
  report: StepReport;
}

/** Keras-style logs: loss and size per batch (outside ε, absent when withheld), loss and epsilon per epoch. */
export type PrivateLogs = Record<string, number>;

export interface PrivateFitOptions {
  /** Epochs to run (default: the planned epochs). Epoch k ends after round(k / q) steps in all. */
  epochs?: number;
  callbacks?: {
    onBatchEnd?: (batch: number, logs: PrivateLogs) => void | Promise<void>;
    onEpochEnd?: (epoch: number, logs: PrivateLogs) => void | Promise<void>;
  };
}

export interface PrivateHistory {
  epoch: number[];
  history: { loss: number[]; epsilon: number[] };
  /** True when the budget guard refused a step: the fit stopped there, that step changed nothing. */
  stoppedByBudget: boolean;
}

/** A tf optimizer weight, stored as plain numbers (JSON). */
export interface SavedTensor {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  values: number[];
}

export interface PrivateTrainerState {
  format: 'dpfl-tfjs-trainer';
  version: 1;
  noiseMultiplier: number;
  /** Epochs fit() has completed (its epoch boundaries continue from here). */
  epochs: number;
  /** The DpOptimizer's state: the ledger (accountant.toJSON()), C; no buffers under rule 'none'. */
  optimizer: OptimizerState;
  sampler: SamplerState;
  /** The tf optimizer's weights (getWeights): Adam's moments, the iteration count. */
  tfOptimizer: SavedTensor[];
}

function resolveGradients(g: PrivateOptions['gradients']): ClippedGradientsFn {
  if (g === undefined || g === 'ghost') return ghostClippedGradients;
  if (typeof g === 'function') return g;
  if (g === 'per-example') return perExampleClippedGradients;
  throw invalidArgument('gradients', '"ghost", "per-example" or a ClippedGradientsFn', g);
}

function clippingKind(c: PrivateOptions['clipping']): string | undefined {
  return typeof c === 'string' ? c : (c as { kind?: string } | undefined)?.kind;
}

export class PrivateTrainer {
  readonly model: LayersModel;
  /** σ: calibrated from targetEpsilon, or as given. */
  readonly noiseMultiplier: number;
  /** The planned steps (round(epochs / q)): what σ is calibrated for. */
  readonly steps: number;
  readonly delta: number;
  readonly sampler: Sampler;
  readonly #optimizer: DpOptimizer;
  readonly #accountant: PrivacyAccountant;
  readonly #tfOptimizer: tf.Optimizer;
  readonly #loss: PerExampleLoss;
  readonly #gradients: ClippedGradientsFn;
  readonly #vars: tf.Variable[];
  /** Offset of each trainable variable in the flat gradient (and the end). */
  readonly #sizes: number[];
  readonly #plannedEpochs: number;
  readonly #withhold: boolean;
  #epochs = 0;
  #busy = false;

  constructor(model: LayersModel, options: PrivateOptions) {
    layersModel('model', model);
    requiredObject('options', options);
    if (model.outputs.length !== 1) throw invalidArgument('model.outputs.length', '1', model.outputs.length);
    const n = options.datasetSize;
    if (!Number.isSafeInteger(n) || n <= 0) throw invalidArgument('datasetSize', 'a positive integer', n);
    const b = options.batchSize;
    if (!Number.isSafeInteger(b) || b <= 0 || b > n) {
      throw invalidArgument('batchSize', `an integer in [1, datasetSize = ${n}]`, b);
    }
    const opt = options.optimizer as unknown as { applyGradients?: unknown };
    if (typeof opt !== 'object' || opt === null || typeof opt.applyGradients !== 'function') {
      throw invalidType('optimizer', 'a tf.Optimizer (tf.train.sgd, tf.train.adam, ...)', options.optimizer);
    }
    if (clippingKind(options.clipping) === 'per-layer') {
      const expected = '"flat", "adaptive" or "automatic" (per-layer clipping needs per-layer norms)';
      throw invalidArgument('clipping', expected, 'per-layer');
    }
    this.#loss = resolveLoss(options.loss, model);
    this.#gradients = resolveGradients(options.gradients);
    this.#vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.#sizes = this.#vars.map((v) => v.size);
    const d = this.#sizes.reduce((a, n) => a + n, 0);
    if (d === 0) throw invalidArgument('model.trainableWeights', 'non-empty', 'no trainable weights');
    this.#plannedEpochs = positiveFinite('epochs', options.epochs);
    // σ, the sampler and the budget-guarded ledger are dpfl's makePrivate's. Rule 'none': the
    // DpOptimizer never writes its params (only their length D matters); the tf optimizer updates.
    const setup = makePrivateSetup({
      params: new Float32Array(d),
      datasetSize: n,
      batchSize: b,
      delta: options.delta,
      epochs: options.epochs,
      maxGradNorm: options.maxGradNorm,
      update: { kind: 'none' },
      ...(options.targetEpsilon !== undefined ? { targetEpsilon: options.targetEpsilon } : {}),
      ...(options.noiseMultiplier !== undefined ? { noiseMultiplier: options.noiseMultiplier } : {}),
      ...(options.clipping !== undefined ? { clipping: options.clipping } : {}),
      ...(options.sampling !== undefined ? { sampling: options.sampling } : {}),
      ...(options.accountant !== undefined ? { accountant: options.accountant } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.withholdUnnoisedStats !== undefined ? { withholdUnnoisedStats: options.withholdUnnoisedStats } : {}),
    });
    this.model = model;
    this.#tfOptimizer = options.optimizer;
    this.#optimizer = setup.optimizer;
    this.#accountant = setup.accountant;
    this.noiseMultiplier = setup.noiseMultiplier;
    this.steps = setup.steps;
    this.delta = setup.delta;
    this.sampler = setup.sampler;
    this.#withhold = setup.optimizer.withholdUnnoisedStats;
  }

  /** The ledger every step is charged to (its budget guard refuses steps past targetEpsilon). */
  get accountant(): PrivacyAccountant {
    return this.#accountant;
  }

  /** ε spent so far at δ. */
  epsilon(): number {
    return this.#accountant.epsilon(this.delta);
  }

  /**
   * One logical batch: clipped gradients, noise, ÷ expected batch size, the tf optimizer's update.
   * The batch should be drawn as the sampling option says (fit() does). An empty batch (B = 0)
   * releases noise alone without a backend call on it. A step the budget refuses throws
   * BudgetExceededError and changes nothing.
   */
  async step(xs: tf.Tensor | tf.Tensor[], ys: tf.Tensor): Promise<PrivateStepResult> {
    const b = batchSize(xs, ys);
    return this.#exclusive('step', () => this.#step(b === 0 ? null : { xs, ys, b }));
  }

  /** One call at a time: steps share the optimizer's pending batch and the tf optimizer's state. */
  async #exclusive<T>(method: string, f: () => Promise<T>): Promise<T> {
    if (this.#busy) throw invalidArgument(method, 'called after the previous call settles', 'a concurrent call');
    this.#busy = true;
    try {
      return await f();
    } finally {
      this.#busy = false;
    }
  }

  async #step(batch: { xs: tf.Tensor | tf.Tensor[]; ys: tf.Tensor; b: number } | null): Promise<PrivateStepResult> {
    const opt = this.#optimizer;
    const step = opt.steps;
    let loss: number | undefined;
    let report: StepReport;
    try {
      if (batch !== null) {
        const { xs, ys, b } = batch;
        let asked = false;
        // Once per batch: each clipFactors call counts the batch's examples in the step report.
        const factors = (sq: Float64Array) => {
          if (asked) throw invalidArgument('factors', 'called once per batch', 'a second call');
          asked = true;
          return opt.clipFactors(sq, b)[0]!;
        };
        const res = await this.#gradients(this.model, xs, ys, this.#loss, factors);
        opt.addClippedSum(this.#checked(res.grads));
        loss = res.loss;
      }
      report = opt.step();
    } catch (e) {
      // A refused or failed step leaves nothing behind for the next batch to inherit.
      opt.discardBatch();
      throw e;
    }
    this.#apply(opt.noisyGradient);
    if (this.#withhold) return { step, report };
    return { step, ...(loss !== undefined ? { loss } : {}), examples: batch?.b ?? 0, report };
  }

  /** The per-variable clipped sums, checked against the weights (DpOptimizer.addClippedSum takes them as they are). */
  #checked(grads: Float32Array[]): Float32Array[] {
    if (!Array.isArray(grads) || grads.length !== this.#vars.length) {
      throw invalidArgument('gradients(...).grads.length', `the trainable weights (${this.#vars.length})`, grads);
    }
    for (const [k, g] of grads.entries()) {
      if (!(g instanceof Float32Array) || g.length !== this.#vars[k]!.size) {
        throw invalidArgument(`gradients(...).grads[${k}]`, `a Float32Array of ${this.#vars[k]!.size}`, g);
      }
    }
    return grads;
  }

  /** The user's tf optimizer applies the noisy gradient, one view per variable. */
  #apply(noisy: Float32Array): void {
    tf.tidy(() => {
      const map: tf.NamedTensorMap = {};
      const views = splitViews(noisy, this.#sizes);
      for (const [k, v] of this.#vars.entries()) map[v.name] = tf.tensor(views[k]!, v.shape, 'float32');
      this.#tfOptimizer.applyGradients(map);
    });
  }

  /**
   * Keras-style training on x (one tensor, or one per input) and y, both of datasetSize examples:
   * batches drawn by the sampler (Poisson: each example with probability q, so sizes vary and a
   * batch may be empty). An epoch is 1/q steps, rounded so that E epochs in all take round(E / q)
   * steps: fit() with the planned epochs runs exactly the calibrated plan. Stops (stoppedByBudget)
   * when the budget guard refuses a step.
   */
  async fit(x: tf.Tensor | tf.Tensor[], y: tf.Tensor, options: PrivateFitOptions = {}): Promise<PrivateHistory> {
    requiredObject('options', options);
    const n = batchSize(x, y);
    if (n !== this.sampler.datasetSize) {
      throw invalidArgument('x.shape[0]', `datasetSize (${this.sampler.datasetSize})`, n);
    }
    const epochs = options.epochs ?? this.#plannedEpochs;
    if (!Number.isSafeInteger(epochs) || epochs < 0) throw invalidArgument('epochs', 'a non-negative integer', epochs);
    const { onBatchEnd, onEpochEnd } = options.callbacks ?? {};
    const q = this.sampler.expectedBatchSize / n;
    const stepsAt = (k: number) => (k === 0 ? 0 : Math.max(1, Math.round(k / q)));
    const out: PrivateHistory = { epoch: [], history: { loss: [], epsilon: [] }, stoppedByBudget: false };
    return this.#exclusive('fit', async () => {
      for (let e = 0; e < epochs && !out.stoppedByBudget; e++) {
        const k = this.#epochs;
        let lossSum = 0;
        let examples = 0;
        for (let s = 0; s < stepsAt(k + 1) - stepsAt(k); s++) {
          let r: PrivateStepResult;
          try {
            r = await this.#sampledStep(x, y);
          } catch (err) {
            if (!(err instanceof BudgetExceededError)) throw err;
            out.stoppedByBudget = true;
            break;
          }
          if (r.loss !== undefined && r.examples !== undefined) {
            lossSum += r.loss * r.examples;
            examples += r.examples;
          }
          await onBatchEnd?.(s, this.#logs(r));
        }
        if (out.stoppedByBudget) break;
        this.#epochs++;
        const logs: PrivateLogs = { epsilon: this.epsilon() };
        if (!this.#withhold && examples > 0) logs.loss = lossSum / examples;
        out.epoch.push(k);
        out.history.loss.push(logs.loss ?? Number.NaN);
        out.history.epsilon.push(logs.epsilon!);
        await onEpochEnd?.(k, logs);
      }
      return out;
    });
  }

  #logs(r: PrivateStepResult): PrivateLogs {
    const logs: PrivateLogs = {};
    if (r.loss !== undefined) logs.loss = r.loss;
    if (r.examples !== undefined) logs.size = r.examples;
    return logs;
  }

  /** Draws a batch and steps on it; an empty batch never reaches the backend. */
  async #sampledStep(x: tf.Tensor | tf.Tensor[], y: tf.Tensor): Promise<PrivateStepResult> {
    const idx = this.sampler.next();
    if (idx.length === 0) return this.#step(null);
    const batch = tf.tidy(() => {
      const ind = tf.tensor1d(idx, 'int32');
      return { xs: Array.isArray(x) ? x.map((t) => tf.gather(t, ind)) : tf.gather(x, ind), ys: tf.gather(y, ind) };
    });
    try {
      return await this.#step({ ...batch, b: idx.length });
    } finally {
      tf.dispose(batch);
    }
  }

  /** The ledger, the sampler, C and the tf optimizer's weights (JSON-safe). Model weights: model.save. */
  async save(): Promise<PrivateTrainerState> {
    const weights = await this.#tfOptimizer.getWeights();
    const tfOptimizer: SavedTensor[] = [];
    for (const w of weights) {
      tfOptimizer.push({
        name: w.name,
        shape: [...w.tensor.shape],
        dtype: w.tensor.dtype === 'int32' ? 'int32' : 'float32',
        values: Array.from(await w.tensor.data()),
      });
      // getWeights returns the optimizer's live variables and fresh tensors (the iteration count): free only those.
      if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
    }
    return {
      format: 'dpfl-tfjs-trainer',
      version: 1,
      noiseMultiplier: this.noiseMultiplier,
      epochs: this.#epochs,
      optimizer: this.#optimizer.getState(),
      sampler: this.sampler.getState(),
      tfOptimizer,
    };
  }

  /**
   * Continues from save() output (or its JSON.parse): the ledger, C, the sampler and the tf
   * optimizer's state. The trainer must have been made with the same options (σ is checked).
   */
  async load(state: PrivateTrainerState): Promise<void> {
    requiredObject('state', state);
    if (state.format !== 'dpfl-tfjs-trainer')
      throw invalidArgument('state.format', '"dpfl-tfjs-trainer"', state.format);
    if (state.version !== 1) throw invalidArgument('state.version', '1', state.version);
    if (state.noiseMultiplier !== this.noiseMultiplier) {
      throw invalidArgument('state.noiseMultiplier', `this trainer's (${this.noiseMultiplier})`, state.noiseMultiplier);
    }
    if (!Number.isSafeInteger(state.epochs) || state.epochs < 0) {
      throw invalidArgument('state.epochs', 'a non-negative integer', state.epochs);
    }
    if (!Array.isArray(state.tfOptimizer)) throw invalidType('state.tfOptimizer', 'an array', state.tfOptimizer);
    const saved = state.tfOptimizer.map((w, i) => {
      const ok = typeof w?.name === 'string' && Array.isArray(w.shape) && Array.isArray(w.values);
      if (!ok) throw invalidType(`state.tfOptimizer[${i}]`, 'a saved tensor { name, shape, dtype, values }', w);
      return w;
    });
    // The optimizer's state in JSON has plain objects for its (empty) Float32Array buffers.
    const optimizerState = { ...state.optimizer, buffers: {} };
    await this.#exclusive('load', async () => {
      const before = { optimizer: this.#optimizer.getState(), sampler: this.sampler.getState() };
      this.#optimizer.discardBatch();
      try {
        this.#optimizer.setState(optimizerState);
        this.sampler.setState(state.sampler);
      } catch (e) {
        this.#optimizer.setState(before.optimizer);
        this.sampler.setState(before.sampler);
        throw e;
      }
      const tensors = saved.map((w) => ({ name: w.name, tensor: tf.tensor(w.values, w.shape, w.dtype) }));
      try {
        await this.#tfOptimizer.setWeights(tensors);
      } finally {
        for (const t of tensors) t.tensor.dispose();
      }
      this.#epochs = state.epochs;
    });
  }
}

/**
 * DP-SGD for a tf.LayersModel (Sequential or functional, one output): σ calibrated to
 * targetEpsilon over the planned epochs, Poisson sampling, clipping and noise by dpfl, updates by
 * the given tf optimizer. See PrivateTrainer.
 */
export function makePrivateTrainer(model: LayersModel, options: PrivateOptions): PrivateTrainer {
  return new PrivateTrainer(model, options);
}
