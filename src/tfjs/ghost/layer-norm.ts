// LayerNormalization: y = γ∘x̂ + β with x̂ = (x − mean)/√(var + ε) over the layer's axes, so example i's
// gradients are Σ_positions x̂∘g (γ) and Σ_positions g (β), summed over the non-normalized axes. These are
// small ([B, params]), so they are formed per example outright.
import * as tf from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import { type Layer, opened, type Rule } from './rule.js';

interface LayerNormFields {
  axis: number[];
  epsilon: number;
  gamma: LayerVariable | null;
  beta: LayerVariable | null;
}

/** The normalized axes (resolved by build) of a LayerNormalization layer. */
export function layerNormAxes(layer: Layer): number[] {
  return (layer as unknown as LayerNormFields).axis;
}

export function layerNormRule(layer: Layer): Rule {
  const { axis, epsilon, gamma, beta } = layer as unknown as LayerNormFields;
  const weights = [gamma, beta].filter((w): w is LayerVariable => w != null);
  return {
    weights,
    probe: 'output',
    open(a, g) {
      // Per-example gradients, [B, params] each, in γ/β's row-major order (tfjs reshapes γ to the sorted axes).
      const per = tf.tidy(() => {
        const x = tf.cast(a, 'float32');
        const others = x.shape.map((_, d) => d).filter((d) => d > 0 && !axis.includes(d));
        const { mean, variance } = tf.moments(x, axis, true);
        const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
        const B = x.shape[0]!;
        const sum = (t: tf.Tensor) => tf.reshape(others.length ? tf.sum(t, others) : t, [B, -1]);
        const out: tf.Tensor2D[] = [];
        if (gamma) out.push(sum(tf.mul(xhat, g)) as tf.Tensor2D);
        if (beta) out.push(sum(g) as tf.Tensor2D);
        return out;
      });
      return opened(
        per,
        () => tf.tidy(() => tf.addN(per.map((p) => tf.sum(tf.square(p), 1))) as tf.Tensor1D),
        (c) =>
          tf.tidy(() =>
            per.map((p, k) => tf.reshape(tf.matMul(tf.reshape(c, [1, -1]), p), weights[k]!.shape as number[])),
          ),
      );
    },
  };
}
