// A federated client: local epochs of SGD (optionally FedProx) from the broadcast global model on
// the examples currently on the device; it returns its update Δ_k = x_k − x_t and its sample count.
import type { LabelledData } from './data.js';
import type { FlModel, LocalTrainingOptions } from './model.js';
import type { Rng } from './rng.js';

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
    readonly data: LabelledData,
    /** The examples on the device now (fixed in the static setting, a store in the continual one). */
    readonly examples: () => ArrayLike<number>,
    readonly training: LocalTrainingOptions,
  ) {}

  train(global: Float32Array, round: number, rng: Rng): ClientReport {
    const local = Float32Array.from(global);
    const examples = this.examples();
    if (examples.length > 0) this.model.train(local, global, this.data, examples, this.training, rng);
    for (let i = 0; i < local.length; i++) local[i] = local[i]! - global[i]!;
    return { client: this.id, round, update: local, samples: examples.length };
  }
}
