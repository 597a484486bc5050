// The contract between the trainer (make-private.ts) and the ways of computing clipped gradients:
// ghost clipping (gradients.ts) and the batch-of-one loop (per-example.ts).
import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

/** Per-example losses: yTrue, yPred of batch B → a tensor of shape [B]. */
export type PerExampleLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

export interface ClippedGradients {
  /** Σ_i c_i ∇ℓ_i for each trainable weight, in model.trainableWeights order, row-major like weight.read(). */
  grads: Float32Array[];
  /** ‖∇ℓ_i‖² over all trainable weights, per example, before clipping (Float64Array of B). */
  sqNorms: Float64Array;
  /** Mean per-example loss of the batch (for logging); 0 for an empty batch. */
  loss: number;
}

/** factors(sqNorms) returns c_i (Float32Array of B; 0 drops an example). */
export type ClippedGradientsFn = (
  model: LayersModel,
  xs: tf.Tensor | tf.Tensor[],
  ys: tf.Tensor,
  loss: PerExampleLoss,
  factors: (sqNorms: Float64Array) => Float32Array,
) => Promise<ClippedGradients>;
