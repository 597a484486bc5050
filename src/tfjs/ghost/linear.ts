// Per-example norms and the clipped sum of a weight that acts linearly on T positions: z_t = W a_t + b
// (Dense on any rank, and Conv after unfolding its input into patches). A: [B, T, P], G: [B, T, Q] holds
// ∂(Σ_i ℓ_i)/∂z = per-example output gradients, since example i only reaches its own row.
import * as tf from '@tensorflow/tfjs-core';
import { type Opened, opened } from './rule.js';

/**
 * ‖Σ_t a_t g_tᵀ‖² per example. T = 1: ‖a‖²‖g‖² (Goodfellow 2015, "Efficient per-example gradient
 * computations"). T > 1: the cheaper of ghost Σ_{t,t'} (a_t·a_t')(g_t·g_t') (Li et al. 2022, "Large language
 * models can be strong differentially private learners"), costing T²(P + Q), and the per-example gradient
 * A_iᵀG_i, costing T·P·Q — the per-layer choice of Bu et al. 2023 ("Differentially private optimization on
 * large model at small cost", mixed ghost clipping).
 */
export function linearSqNorms(A: tf.Tensor3D, G: tf.Tensor3D): tf.Tensor1D {
  return tf.tidy(() => {
    const [, T, P] = A.shape;
    const Q = G.shape[2];
    if (T === 1) return tf.mul(tf.sum(tf.square(A), [1, 2]), tf.sum(tf.square(G), [1, 2]));
    if (T * T * (P + Q) <= T * P * Q) {
      const aa = tf.matMul(A, A, false, true);
      const gg = tf.matMul(G, G, false, true);
      return tf.sum(tf.mul(aa, gg), [1, 2]);
    }
    return tf.sum(tf.square(tf.matMul(A, G, true, false)), [1, 2]);
  });
}

/** ‖Σ_t g_t‖² per example: the bias' per-example gradient norm. */
export function biasSqNorms(G: tf.Tensor3D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.square(tf.sum(G, 1)), 1));
}

/** G scaled per example by c ([B]). */
export function scaleRows(G: tf.Tensor3D, c: tf.Tensor1D): tf.Tensor3D {
  return tf.mul(G, tf.reshape(c, [-1, 1, 1]));
}

/** Σ_i Σ_t a_it (c_i g_it)ᵀ: [P, Q], and Σ_i Σ_t c_i g_it: [Q]. */
export function linearClipped(A: tf.Tensor3D, G: tf.Tensor3D, c: tf.Tensor1D): [tf.Tensor2D, tf.Tensor1D] {
  return tf.tidy(() => {
    const [B, T, P] = A.shape;
    const Q = G.shape[2];
    const cg = tf.reshape(scaleRows(G, c), [B * T, Q]);
    // An explicit transpose, not matMul's transposeA: tfjs-backend-wasm runs transposeA outside XNNPACK, ~10× slower.
    const w = tf.matMul(tf.transpose(tf.reshape(A, [B * T, P])), cg);
    return [w as tf.Tensor2D, tf.sum(cg, 0) as tf.Tensor1D];
  });
}

/** The Opened of a linear layer: kernel gradient reshaped to `kernelShape`, bias when `hasBias`. */
export function linearOpened(A: tf.Tensor3D, G: tf.Tensor3D, kernelShape: number[], hasBias: boolean): Opened {
  return opened(
    [A, G],
    () => tf.tidy(() => (hasBias ? tf.add(linearSqNorms(A, G), biasSqNorms(G)) : linearSqNorms(A, G))),
    (c) =>
      tf.tidy(() => {
        const [w, b] = linearClipped(A, G, c);
        return hasBias ? [tf.reshape(w, kernelShape), b] : [tf.reshape(w, kernelShape)];
      }),
  );
}
