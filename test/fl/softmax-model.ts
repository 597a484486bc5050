// A plain-TypeScript FlModel for the FL tests (no native kernels): multinomial logistic (softmax)
// regression trained with minibatch SGD and the optional FedProx proximal term (Li et al.,
// "Federated Optimization in Heterogeneous Networks", MLSys 2020: local objective F_k(w) + μ/2
// ‖w − w_t‖², gradient ∇F_k(w) + μ (w − w_t)). It was the federate CLI's model before the native
// linear model replaced it (issue 14).
import { invalidArgument } from '../../src/errors.js';
import { elementCount, positiveInteger, sizedFloat32 } from '../../src/validate.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { FlModel, LocalTrainingOptions } from '../../src/fl/model.js';
import type { Random } from '../../src/data/random.js';
import { labelledDataset, localTraining } from '../../src/fl/validate.js';

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

  /** Data this model can read: dense rows of numFeatures; returns them (checked once per public call). */
  #rows(data: unknown): Float32Array {
    const d = labelledDataset('data', data);
    if (d.kind !== 'dense' || d.featureDim !== this.numFeatures) {
      throw invalidArgument('data.featureDim', `${this.numFeatures} with dense rows`, d.featureDim);
    }
    return d.x!;
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
    data: Dataset,
    indices: ArrayLike<number>,
    options: LocalTrainingOptions,
    rng: Random,
  ): void {
    const x = this.#rows(data);
    localTraining(this.dim, params, global, data, indices, options, rng);
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
          this.#logits(params, x, i * f, p);
          let max = -Infinity;
          for (let c = 0; c < k; c++) max = Math.max(max, p[c]!);
          let sum = 0;
          for (let c = 0; c < k; c++) sum += p[c] = Math.exp(p[c]! - max);
          const y = data.labels[i]!;
          for (let c = 0; c < k; c++) {
            const g = p[c]! / sum - (c === y ? 1 : 0); // ∂(cross-entropy)/∂z_c
            grad[bias + c] = grad[bias + c]! + g;
            for (let d = 0; d < f; d++) grad[c * f + d] = grad[c * f + d]! + g * x[i * f + d]!;
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

  accuracy(params: Float32Array, data: Dataset): number {
    sizedFloat32('params', params, this.dim);
    const x = this.#rows(data);
    const z = new Float64Array(this.numClasses);
    let correct = 0;
    const n = data.size;
    for (let i = 0; i < n; i++) {
      this.#logits(params, x, i * this.numFeatures, z);
      let best = 0;
      for (let c = 1; c < this.numClasses; c++) if (z[c]! > z[best]!) best = c;
      if (best === data.labels[i]) correct++;
    }
    return n === 0 ? 0 : correct / n;
  }
}
