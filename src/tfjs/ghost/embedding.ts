// Embedding: output position t is row idx_t of the table, so example i's gradient is Σ_t e_{idx_t} g_tᵀ and
// its squared norm Σ_{t,t'} [idx_t = idx_t'] (g_t·g_t') (the ghost norm of Li et al. 2022 with one-hot inputs).
import * as tf from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import { scaleRows } from './linear.js';
import { type Layer, opened, type Rule } from './rule.js';

export function embeddingRule(layer: Layer): Rule {
  const { embeddings } = layer as unknown as { embeddings: LayerVariable };
  const [vocab, dim] = embeddings.shape as [number, number];
  return {
    weights: [embeddings],
    probe: 'output',
    open(a, g) {
      const [idx, G] = tf.tidy(() => {
        const B = a.shape[0]!;
        return [tf.reshape(tf.cast(a, 'int32'), [B, -1]), tf.reshape(g, [B, -1, dim])];
      });
      const sqNorms = () =>
        tf.tidy(() => {
          const same = tf.cast(tf.equal(tf.expandDims(idx!, 2), tf.expandDims(idx!, 1)), 'float32');
          return tf.sum(
            tf.mul(tf.matMul(G as tf.Tensor3D, G as tf.Tensor3D, false, true), same),
            [1, 2],
          ) as tf.Tensor1D;
        });
      const clipped = (c: tf.Tensor1D) =>
        tf.tidy(() => {
          const rows = tf.reshape(scaleRows(G as tf.Tensor3D, c), [-1, dim]);
          return [tf.unsortedSegmentSum(rows, tf.reshape(idx!, [-1]) as tf.Tensor1D, vocab)];
        });
      return opened([idx!, G!], sqNorms, clipped);
    },
  };
}
