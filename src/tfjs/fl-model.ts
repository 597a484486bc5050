// A TensorFlow.js LayersModel as an FL client model (FlModel), so simulate() and FederatedServer
// drive tfjs clients. The flat parameter vector is the model's trainable weights in
// model.trainableWeights order; each weight crosses as one bulk copy (never element by element).
// Local training is a custom loop (not model.fit): batches are shuffled by dpfl's seeded Random,
// a fresh optimizer runs each client update, and FedProx adds μ/2‖w − w_t‖² to the loss
// (Li et al., "Federated Optimization in Heterogeneous Networks", MLSys 2020).
import {
  type Optimizer,
  type Scalar,
  type Tensor,
  type Variable,
  add,
  addN,
  argMax,
  cast,
  dispose,
  mean,
  mul,
  oneHot,
  square,
  sub,
  sum,
  tensor,
  tensor1d,
  tidy,
  train as optimizers,
} from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { resolveLoss } from './loss.js';
import { layersModel } from './validate.js';
import { gatherBatch, type Dataset } from '../data/dataset.js';
import type { Random } from '../data/random.js';
import { invalidArgument, invalidType } from '../errors.js';
import type { FlModel, LocalTrainingOptions } from '../fl/model.js';
import { labelledDataset, localTraining } from '../fl/validate.js';
import { oneOf, optionsObject, positiveInteger, sizedFloat32 } from '../validate.js';

/** A loss of (labels, model outputs): per-example values or a scalar (its mean is minimised). */
export type TfjsLossFunction = (labels: Tensor, outputs: Tensor) => Tensor;

export interface TfjsFlModelOptions {
  /**
   * 'categoricalCrossentropy' (one-hot labels) or 'sparseCategoricalCrossentropy' (class-index
   * labels): Keras' cross-entropy of probability outputs (a softmax last layer). Or a function,
   * given labels in the form of options.labels.
   */
  loss: 'categoricalCrossentropy' | 'sparseCategoricalCrossentropy' | TfjsLossFunction;
  /** The labels a loss function receives: 'one-hot' (float32, default) or 'sparse' (int32 class indices). */
  labels?: 'one-hot' | 'sparse';
  /** A fresh optimizer for each local training, given the round's local lr. Default: SGD at lr. */
  optimizer?: (lr: number) => Optimizer;
  /**
   * The examples `indices` of ds as tensors (needed for bags; optional for dense rows). The adapter
   * disposes both. ys must be in the form the loss expects; accuracy() uses only xs.
   */
  toTensors?: (ds: Dataset, indices: Int32Array) => { xs: Tensor; ys: Tensor };
  /** Rows per predict batch in accuracy(). Default 512. */
  evalBatchSize?: number;
}

/** The model's one input shape after the batch axis, checked to be fully known. */
function inputShape(model: LayersModel): number[] {
  const shape = model.inputs[0]!.shape.slice(1);
  if (!shape.every((d): d is number => typeof d === 'number' && d > 0)) {
    throw invalidArgument('model.inputs[0].shape', 'known after the batch axis', `[${shape.join(', ')}]`);
  }
  return shape;
}

/**
 * The FlModel of a tf.LayersModel with one input and one output (Sequential or functional).
 * init() returns the trainable weights the model held when tfjsFlModel was called (its rng is not
 * used: the model's own initializers already ran; seed them for reproducible runs). Non-trainable
 * weights (BatchNormalization's moving statistics) are not federated, and weight constraints are
 * not applied by the local loop. The simulated clients share the model object one at a time.
 */
export function tfjsFlModel(model: LayersModel, options: TfjsFlModelOptions): FlModel {
  return new TfjsFlModel(model, options);
}

class TfjsFlModel implements FlModel {
  readonly dim: number;
  readonly #model: LayersModel;
  readonly #variables: Variable[];
  readonly #initial: Float32Array;
  readonly #loss: TfjsLossFunction;
  readonly #sparse: boolean;
  readonly #optimizer: (lr: number) => Optimizer;
  readonly #toTensors: TfjsFlModelOptions['toTensors'];
  readonly #inputShape: number[];
  readonly #evalBatch: number;

  constructor(model: LayersModel, options: TfjsFlModelOptions) {
    layersModel('model', model);
    if (model.inputs.length !== 1) throw invalidArgument('model.inputs.length', '1', model.inputs.length);
    if (model.outputs.length !== 1) throw invalidArgument('model.outputs.length', '1', model.outputs.length);
    const o = optionsObject('options', options);
    const loss = o.loss;
    if (loss === 'categoricalCrossentropy' || loss === 'sparseCategoricalCrossentropy') {
      this.#sparse = loss === 'sparseCategoricalCrossentropy';
      this.#loss = resolveLoss(loss, model); // the one mapping of Keras names (dpfl/tfjs loss.ts)
    } else if (typeof loss === 'function') {
      this.#sparse = oneOf('options.labels', o.labels, ['one-hot', 'sparse'] as const, 'one-hot') === 'sparse';
      this.#loss = loss;
    } else {
      throw invalidArgument(
        'options.loss',
        "'categoricalCrossentropy', 'sparseCategoricalCrossentropy' or a function",
        loss,
      );
    }
    for (const key of ['optimizer', 'toTensors'] as const) {
      if (o[key] !== undefined && typeof o[key] !== 'function')
        throw invalidType(`options.${key}`, 'a function', o[key]);
    }
    this.#optimizer = o.optimizer ?? ((lr) => optimizers.sgd(lr));
    this.#toTensors = o.toTensors;
    this.#evalBatch = o.evalBatchSize === undefined ? 512 : positiveInteger('options.evalBatchSize', o.evalBatchSize);
    this.#model = model;
    this.#inputShape = o.toTensors ? [] : inputShape(model);
    this.#variables = model.trainableWeights.map((w, k) => {
      const v = w.read() as Variable;
      if (v.dtype !== 'float32') throw invalidArgument(`model.trainableWeights[${k}].dtype`, "'float32'", v.dtype);
      return v;
    });
    this.dim = this.#variables.reduce((n, v) => n + v.size, 0);
    if (this.dim === 0) throw invalidArgument('model.trainableWeights', 'at least one trainable weight', 0);
    // A snapshot, so every simulate() over this adapter starts from the same weights.
    this.#initial = new Float32Array(this.dim);
    let offset = 0;
    for (const v of this.#variables) {
      this.#initial.set(v.dataSync() as Float32Array, offset);
      offset += v.size;
    }
  }

  init(): Float32Array {
    return this.#initial.slice();
  }

  async train(
    params: Float32Array,
    global: Float32Array,
    data: Dataset,
    indices: ArrayLike<number>,
    options: LocalTrainingOptions,
    rng: Random,
  ): Promise<void> {
    this.#checkData(labelledDataset('data', data));
    localTraining(this.dim, params, global, data, indices, options, rng);
    this.#setWeights(params);
    const proximal = options.mu > 0 ? this.#tensors(global) : [];
    const optimizer = this.#optimizer(options.lr);
    const order = Int32Array.from(indices);
    try {
      for (let epoch = 0; epoch < options.epochs; epoch++) {
        rng.shuffle(order);
        for (let start = 0; start < order.length; start += options.batchSize) {
          const { xs, ys } = this.#batch(data, order.subarray(start, start + options.batchSize));
          try {
            optimizer.minimize(() => this.#objective(xs, ys, proximal, options.mu), false, this.#variables);
          } finally {
            dispose([xs, ys]);
          }
        }
      }
    } finally {
      optimizer.dispose();
      dispose(proximal);
    }
    let offset = 0;
    for (const v of this.#variables) {
      params.set((await v.data()) as Float32Array, offset);
      offset += v.size;
    }
  }

  async accuracy(params: Float32Array, data: Dataset): Promise<number> {
    this.#checkData(labelledDataset('data', data));
    sizedFloat32('params', params, this.dim);
    this.#setWeights(params);
    let correct = 0;
    for (let start = 0; start < data.size; start += this.#evalBatch) {
      const rows = Int32Array.from({ length: Math.min(this.#evalBatch, data.size - start) }, (_, i) => start + i);
      const xs = this.#inputs(data, rows);
      const predicted = tidy(() => argMax(this.#model.predict(xs, { batchSize: rows.length }) as Tensor, -1));
      xs.dispose();
      const classes = await predicted.data();
      predicted.dispose();
      for (let r = 0; r < rows.length; r++) if (classes[r] === data.labels[start + r]) correct++;
    }
    return data.size === 0 ? 0 : correct / data.size;
  }

  /** Mean loss of the batch, plus μ/2 Σ‖w − w_t‖² (FedProx) when μ > 0. */
  #objective(xs: Tensor, ys: Tensor, global: Tensor[], mu: number): Scalar {
    const out = this.#model.apply(xs, { training: true }) as Tensor;
    const loss = mean(this.#loss(ys, out)) as Scalar;
    if (global.length === 0) return loss;
    const distance = addN(this.#variables.map((v, k) => sum(square(sub(v, global[k]!)))));
    return add(loss, mul(distance, mu / 2));
  }

  /** The model outputs one score per class and (without toTensors) reads dense rows. */
  #checkData(data: Dataset): void {
    const units = this.#model.outputs[0]!.shape.at(-1);
    if (units !== data.classes)
      throw invalidArgument('the model output units', `data.classes (${data.classes})`, units);
    if (this.#toTensors) return;
    if (data.kind !== 'dense') {
      throw invalidArgument('data.kind', "'dense' (give options.toTensors to feed bags to a tfjs model)", data.kind);
    }
    const features = this.#inputShape.reduce((a, b) => a * b, 1);
    if (features !== data.featureDim) {
      throw invalidArgument('the model input size', `data.featureDim (${data.featureDim})`, features);
    }
  }

  /** The inputs of the examples `rows` (accuracy: no labels needed). */
  #inputs(data: Dataset, rows: Int32Array): Tensor {
    if (!this.#toTensors) return tensor(gatherBatch(data, rows).x!, [rows.length, ...this.#inputShape], 'float32');
    const { xs, ys } = this.#toTensors(data, rows);
    ys.dispose();
    return xs;
  }

  /** The examples `rows` as (xs, ys) tensors, each row copied once. */
  #batch(data: Dataset, rows: Int32Array): { xs: Tensor; ys: Tensor } {
    if (this.#toTensors) return this.#toTensors(data, rows);
    const batch = gatherBatch(data, rows);
    const xs = tensor(batch.x!, [rows.length, ...this.#inputShape], 'float32');
    const ys = this.#sparse
      ? tensor1d(batch.labels, 'int32')
      : tidy(() => cast(oneHot(tensor1d(batch.labels, 'int32'), data.classes), 'float32'));
    return { xs, ys };
  }

  /** Tensors of params' slices in the shapes of the trainable weights (one bulk copy each). */
  #tensors(params: Float32Array): Tensor[] {
    let offset = 0;
    return this.#variables.map((v) => {
      // slice, not subarray: the cpu backend keeps the given array, which the FL loops overwrite.
      const t = tensor(params.slice(offset, offset + v.size), v.shape, 'float32');
      offset += v.size;
      return t;
    });
  }

  #setWeights(params: Float32Array): void {
    const values = this.#tensors(params);
    this.#variables.forEach((v, k) => v.assign(values[k]!));
    dispose(values); // each variable holds its own reference to the data
  }
}
