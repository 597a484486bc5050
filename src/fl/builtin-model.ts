// The built-in models of src/models (softmax regression, MLP, hashed-n-gram text classifier) as
// FL client models: local minibatch SGD on the mean cross-entropy, with the FedProx proximal term
// μ/2‖w − w_t‖² (Li et al., MLSys 2020) when μ > 0. Trains on a src/data Dataset (dense or bags).
import { batches, gatherBatch, type Dataset } from '../data/dataset.js';
import { createModel, type ModelSpec } from '../models/zoo.js';
import type { Sequential } from '../models/sequential.js';
import type { FlModel, LocalTrainingOptions } from './model.js';
import type { Random } from '../data/random.js';
import { sizedFloat32 } from '../validate.js';
import { labelledDataset, localTraining } from './validate.js';

export class BuiltinModel implements FlModel {
  readonly #model: Sequential;
  readonly #grad: Float32Array;
  readonly dim: number;

  constructor(
    readonly spec: ModelSpec,
    readonly seed = 0,
  ) {
    this.#model = createModel(spec, seed);
    this.dim = this.#model.paramCount;
    this.#grad = new Float32Array(this.dim);
  }

  init(): Float32Array {
    // The linear model starts at zero, as its bags form does: a convex model needs no symmetry
    // breaking, and a random dense start costs clients that take few local steps (continual data).
    if (this.spec.kind === 'linear') return new Float32Array(this.dim);
    this.#model.init(this.seed);
    return Float32Array.from(this.#model.params);
  }

  train(
    params: Float32Array,
    global: Float32Array,
    data: Dataset,
    indices: ArrayLike<number>,
    options: LocalTrainingOptions,
    rng: Random,
  ): void {
    const source = labelledDataset('data', data);
    localTraining(this.dim, params, global, data, indices, options, rng);
    const w = this.#model.params;
    w.set(params);
    const order = Int32Array.from(indices);
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      rng.shuffle(order);
      for (let start = 0; start < order.length; start += options.batchSize) {
        const rows = order.slice(start, start + options.batchSize);
        this.#model.forwardBackward(gatherBatch(source, rows));
        this.#model.backwardParams(this.#grad, [], false); // Σ of the examples' gradients
        const scale = options.lr / rows.length;
        for (let j = 0; j < this.dim; j++) {
          const prox = options.mu > 0 ? options.mu * (w[j]! - global[j]!) : 0;
          w[j] = w[j]! - scale * this.#grad[j]! - options.lr * prox;
        }
      }
    }
    params.set(w);
  }

  accuracy(params: Float32Array, data: Dataset): number {
    const source = labelledDataset('data', data);
    sizedFloat32('params', params, this.dim);
    this.#model.params.set(params);
    let correct = 0;
    let seen = 0;
    for (const batch of batches(source, 512)) {
      const predicted = this.#model.predict(batch);
      for (let r = 0; r < batch.size; r++) if (predicted[r] === batch.labels[r]) correct++;
      seen += batch.size;
    }
    return seen === 0 ? 0 : correct / seen;
  }
}
