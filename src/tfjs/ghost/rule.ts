// What a supported layer kind contributes to ghost clipping: which weights it owns, where its gradient
// probe goes, and how to turn its captured input a and probe gradient g into per-example norms and the
// clipped gradient sum.
import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs-layers';

export type Layer = LayersModel['layers'][number];

/** One layer's captured pass, ready for norms and clipped sums; owns its tensors until dispose(). */
export interface Opened {
  /** ‖∇_w ℓ_i‖² summed over this layer's weights, per example: [B]. */
  sqNorms(): tf.Tensor1D;
  /** Σ_i c_i ∇_w ℓ_i for each weight of the rule, shaped like the weight. */
  clipped(c: tf.Tensor1D): tf.Tensor[];
  dispose(): void;
}

export interface Rule {
  readonly weights: LayerVariable[];
  /** 'pre-activation': g is taken before the layer's activation (Dense, Conv); 'output': on its output. */
  readonly probe: 'pre-activation' | 'output';
  /**
   * The pre-activation z from the input a with unfused ops (Dense, Conv2D). tfjs-layers' own call uses fused
   * ops, whose gradient computes the weight gradients too (wasted here, and tfjs-backend-wasm 4.22 has no
   * Conv2DBackpropFilter kernel); an unfused op's gradient only follows inputs on the probe's path.
   */
  forward?(a: tf.Tensor): tf.Tensor;
  open(a: tf.Tensor, g: tf.Tensor): Opened;
}

/** An Opened over tensors it disposes at the end. */
export function opened(
  tensors: tf.Tensor[],
  sqNorms: () => tf.Tensor1D,
  clipped: (c: tf.Tensor1D) => tf.Tensor[],
): Opened {
  return { sqNorms, clipped, dispose: () => tensors.forEach((t) => t.dispose()) };
}
