// The client model interface of the FL loops (flat Float32Array parameters), and a built-in
// multinomial logistic (softmax) regression that trains with minibatch SGD and the optional
// FedProx proximal term (Li et al., "Federated Optimization in Heterogeneous Networks", MLSys
// 2020: local objective F_k(w) + μ/2 ‖w − w_t‖², gradient ∇F_k(w) + μ (w − w_t)).
import { invalidArgument } from '../errors.js';
import { elementCount, positiveInteger, sizedFloat32 } from '../validate.js';
import type { LabelledData } from './data.js';
import type { Random } from '../data/random.js';
import { labelledData, localTraining } from './validate.js';

export interface LocalTrainingOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** FedProx μ (0: plain FedAvg local SGD). */
  mu: number;
}

/**
 * A model whose parameters are one flat Float32Array. Each method may return a Promise (a tfjs
 * model's fit, data() and evaluate are asynchronous): the FL loops await every call, one client
 * at a time, so a model object shared by all clients is never used by two of them at once.
 */
export interface FlModel {
  readonly dim: number;
  /** Initial global parameters. */
  init(rng: Random): Float32Array | Promise<Float32Array>;
  /**
   * Trains params in place on the examples `indices` of data; global is w_t for FedProx. params
   * must hold the trained values when the call (or its Promise) completes, and not change after.
   */
  train(params: Float32Array, global: Float32Array, data: LabelledData, indices: ArrayLike<number>,
    options: LocalTrainingOptions, rng: Random): void | Promise<void>;
  /** Fraction of examples of data classified correctly. */
  accuracy(params: Float32Array, data: LabelledData): number | Promise<number>;
}

/** Softmax regression: params = [W (classes × features, row-major), b (classes)]. */
export class SoftmaxRegression implements FlModel {
  readonly dim: number;

  constructor(
    readonly numFeatures: number,
    readonly numClasses: number,
  ) {
    positiveInteger('numFeatures', numFeatures);
    positiveInteger('numClasses', numClasses);
    this.dim = elementCount('numClasses × (numFeatures + 1)', numClasses, numFeatures + 1);
  }

  /** Data this model can read: dense rows of numFeatures (checked once per public call). */
  #data(data: unknown): LabelledData {
    const d = labelledData('data', data);
    if (d.numFeatures !== this.numFeatures || d.features.length !== d.labels.length * this.numFeatures) {
      throw invalidArgument('data.numFeatures', `${this.numFeatures} with dense features`, d.numFeatures);
    }
    return d;
  }

  init(): Float32Array {
    return new Float32Array(this.dim); // the convex problem needs no symmetry breaking
  }

  #logits(params: Float32Array, x: Float32Array, offset: number, out: Float64Array): void {
    const f = this.numFeatures;
    const bias = this.numClasses * f;
    for (let c = 0; c < this.numClasses; c++) {
      let z = params[bias + c]!;
      for (let d = 0; d < f; d++) z += params[c * f + d]! * x[offset + d]!;
      out[c] = z;
    }
  }

  train(
    params: Float32Array,
    global: Float32Array,
    data: LabelledData,
    indices: ArrayLike<number>,
    options: LocalTrainingOptions,
    rng: Random,
  ): void {
    localTraining(this.dim, params, global, this.#data(data), indices, options, rng);
    const f = this.numFeatures;
    const k = this.numClasses;
    const bias = k * f;
    const order = Array.from(indices);
    const p = new Float64Array(k);
    const grad = new Float64Array(this.dim);
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      rng.shuffle(order);
      for (let start = 0; start < order.length; start += options.batchSize) {
        const batch = order.slice(start, start + options.batchSize);
        grad.fill(0);
        for (const i of batch) {
          this.#logits(params, data.features, i * f, p);
          let max = -Infinity;
          for (let c = 0; c < k; c++) max = Math.max(max, p[c]!);
          let sum = 0;
          for (let c = 0; c < k; c++) sum += p[c] = Math.exp(p[c]! - max);
          const y = data.labels[i]!;
          for (let c = 0; c < k; c++) {
            const g = p[c]! / sum - (c === y ? 1 : 0); // ∂(cross-entropy)/∂z_c
            grad[bias + c] = grad[bias + c]! + g;
            for (let d = 0; d < f; d++) grad[c * f + d] = grad[c * f + d]! + g * data.features[i * f + d]!;
          }
        }
        const scale = options.lr / batch.length;
        for (let j = 0; j < this.dim; j++) {
          const prox = options.mu > 0 ? options.mu * (params[j]! - global[j]!) : 0;
          params[j] = params[j]! - scale * grad[j]! - options.lr * prox;
        }
      }
    }
  }

  accuracy(params: Float32Array, data: LabelledData): number {
    sizedFloat32('params', params, this.dim);
    this.#data(data);
    const z = new Float64Array(this.numClasses);
    let correct = 0;
    const n = data.labels.length;
    for (let i = 0; i < n; i++) {
      this.#logits(params, data.features, i * this.numFeatures, z);
      let best = 0;
      for (let c = 1; c < this.numClasses; c++) if (z[c]! > z[best]!) best = c;
      if (best === data.labels[i]) correct++;
    }
    return n === 0 ? 0 : correct / n;
  }
}
