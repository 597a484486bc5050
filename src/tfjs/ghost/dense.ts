// Dense: z = a W + b over the last axis of an input of any rank ≥ 2; positions are the middle axes.
import * as tf from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import { linearOpened } from './linear.js';
import type { Layer, Rule } from './rule.js';

export function denseRule(layer: Layer): Rule {
  const { kernel, bias } = layer as unknown as { kernel: LayerVariable; bias: LayerVariable | null };
  const weights = bias ? [kernel, bias] : [kernel];
  return {
    weights,
    probe: 'pre-activation',
    forward(a) {
      const [P, Q] = kernel.shape as [number, number];
      const z = tf.matMul(tf.reshape(tf.cast(a, 'float32'), [-1, P]), kernel.read());
      const zb = bias ? tf.add(z, bias.read()) : z;
      return a.rank === 2 ? zb : tf.reshape(zb, [...a.shape.slice(0, -1), Q]);
    },
    open(a, g) {
      const [P, Q] = kernel.shape as [number, number];
      const [A, G] = tf.tidy(() => {
        const B = a.shape[0]!;
        return [tf.reshape(tf.cast(a, 'float32'), [B, -1, P]), tf.reshape(g, [B, -1, Q])] as tf.Tensor3D[];
      });
      return linearOpened(A!, G!, kernel.shape as number[], bias != null);
    },
  };
}
