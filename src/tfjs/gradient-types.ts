import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
export type PerExampleLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor; // shape [B]
export interface ClippedGradients {
  grads: Float32Array[] /* Σ_i c_i ∇ℓ_i per trainable weight, model.trainableWeights order */;
  sqNorms: Float64Array /* ‖∇ℓ_i‖² per example */;
  loss: number /* mean loss */;
}
export type ClippedGradientsFn = (
  model: LayersModel,
  xs: tf.Tensor | tf.Tensor[],
  ys: tf.Tensor,
  loss: PerExampleLoss,
  factors: (sqNorms: Float64Array) => Float32Array,
) => Promise<ClippedGradients>;

/**
 * What makePrivate's `gradients: 'ghost'` (and its default) resolves to. Ghost clipping
 * (gradients.ts) sets `ghost` once merged; until then the default is the per-example loop and an
 * explicit 'ghost' is refused.
 */
export const defaultGradients: { ghost?: ClippedGradientsFn } = {};
