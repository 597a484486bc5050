// Test-only reference: per-example gradients from B batch-of-one tf.variableGrads passes.
import * as tf from '@tensorflow/tfjs';
import type { PerExampleLoss } from '../../src/tfjs/gradients.js';

export interface PerExample {
  /** grads[i][k]: ∇ℓ_i for trainable weight k, row-major. */
  grads: Float32Array[][];
  sqNorms: Float64Array;
}

export async function batchOfOne(
  model: tf.LayersModel,
  xs: tf.Tensor | tf.Tensor[],
  ys: tf.Tensor,
  loss: PerExampleLoss,
): Promise<PerExample> {
  const B = ys.shape[0]!;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const grads: Float32Array[][] = [];
  const sqNorms = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    const pick = (t: tf.Tensor) => tf.slice(t, [i], [1]);
    const { value, grads: g } = tf.variableGrads(() => {
      const x = Array.isArray(xs) ? xs.map(pick) : pick(xs);
      return tf.sum(loss(pick(ys), model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar;
    }, vars);
    const row: Float32Array[] = [];
    for (const v of vars) {
      const d = Float32Array.from(await g[v.name]!.data());
      for (const e of d) sqNorms[i]! += e * e;
      row.push(d);
    }
    grads.push(row);
    tf.dispose([value, ...Object.values(g)]);
  }
  return { grads, sqNorms };
}

/** Σ_i c_i ∇ℓ_i of the reference. */
export function clippedSum(ref: PerExample, c: Float32Array): Float64Array[] {
  const out = ref.grads[0]!.map((g) => new Float64Array(g.length));
  ref.grads.forEach((row, i) => {
    row.forEach((g, k) => {
      for (let j = 0; j < g.length; j++) out[k]![j]! += c[i]! * g[j]!;
    });
  });
  return out;
}
