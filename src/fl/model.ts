// The client model interface of the FL loops (flat Float32Array parameters). dpfl's own client
// model is BuiltinModel (the native models of src/models); a caller's (tfjs, hand-written) works too.
import type { Dataset } from '../data/dataset.js';
import type { Random } from '../data/random.js';

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
  train(
    params: Float32Array,
    global: Float32Array,
    data: Dataset,
    indices: ArrayLike<number>,
    options: LocalTrainingOptions,
    rng: Random,
  ): void | Promise<void>;
  /** Fraction of examples of data classified correctly. */
  accuracy(params: Float32Array, data: Dataset): number | Promise<number>;
}
