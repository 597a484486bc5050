// A federated client: local epochs of SGD (optionally FedProx) from the broadcast global model on
// the examples currently on the device; it returns its update Δ_k = x_k − x_t and its sample count.
import { invalidType } from '../errors.js';
import { nonNegativeInteger, requiredObject, sizedFloat32, withMethods } from '../validate.js';
import type { Dataset } from '../data/dataset.js';
import type { FlModel, LocalTrainingOptions } from './model.js';
import type { Random } from '../data/random.js';
import { exampleIndices, labelledDataset } from './validate.js';

export interface ClientReport {
  client: number;
  round: number;
  update: Float32Array;
  /** Examples the update was trained on (the client's weight). */
  samples: number;
}

export class FederatedClient {
  constructor(
    readonly id: number,
    readonly model: FlModel,
    readonly data: Dataset,
    /** The examples on the device now (fixed in the static setting, a store in the continual one). */
    readonly examples: () => ArrayLike<number>,
    readonly training: LocalTrainingOptions,
  ) {
    nonNegativeInteger('id', id);
    withMethods('model', model, 'an FlModel', 'init', 'train', 'accuracy');
    nonNegativeInteger('model.dim', model.dim);
    labelledDataset('data', data);
    if (typeof examples !== 'function') throw invalidType('examples', 'a function returning example indices', examples);
    requiredObject('training', training);
  }

  /** Trains from the global model (awaiting the model's train) and returns the update Δ_k. */
  async train(global: Float32Array, round: number, rng: Random): Promise<ClientReport> {
    sizedFloat32('global', global, this.model.dim);
    nonNegativeInteger('round', round);
    withMethods('rng', rng, 'a Random', 'next', 'shuffle');
    const local = Float32Array.from(global);
    const examples = exampleIndices('examples()', this.examples(), this.data.size);
    if (examples.length > 0) await this.model.train(local, global, this.data, examples, this.training, rng);
    for (let i = 0; i < local.length; i++) local[i] = local[i]! - global[i]!;
    return { client: this.id, round, update: local, samples: examples.length };
  }
}
