// The opt-in fallback of dpfl/tfjs: per-example gradients from B batch-of-one tf.variableGrads
// calls. Correct for any layer a batch of one can run (dropout included: each example's clipped
// gradient is the very one whose norm was measured), but B backward passes: slow (15–25× a
// non-private step on wasm, issue 15). Ghost clipping (gradients.ts) is the fast route.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { invalidArgument, invalidType } from '../errors.js';
import type { ClippedGradientsFn, PerExampleLoss } from './gradient-types.js';
import { batchSize, layersModel } from './validate.js';

/** One example's loss and gradients (in `vars` order; zeros for a variable the loss does not reach). */
function exampleGrads(
  model: LayersModel,
  inputs: tf.Tensor[],
  ys: tf.Tensor,
  loss: PerExampleLoss,
  vars: tf.Variable[],
  i: number,
): { value: tf.Scalar; grads: tf.Tensor[]; sq: tf.Scalar } {
  return tf.tidy(() => {
    const xi = inputs.map((x) => tf.slice(x, i, 1));
    const yi = tf.slice(ys, i, 1);
    const { value, grads } = tf.variableGrads(() => {
      const out = model.apply(xi.length === 1 ? xi[0]! : xi, { training: true }) as tf.Tensor;
      return tf.sum(loss(yi, out)) as tf.Scalar;
    }, vars);
    const list = vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
    const sq = tf.addN(list.map((g) => tf.sum(tf.square(g)))) as tf.Scalar;
    return { value, grads: list, sq };
  });
}

export const perExampleClippedGradients: ClippedGradientsFn = async (model, xs, ys, loss, factors) => {
  layersModel('model', model);
  if (typeof loss !== 'function') throw invalidType('loss', 'a function', loss);
  if (typeof factors !== 'function') throw invalidType('factors', 'a function', factors);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const b = batchSize(xs, ys);
  if (b === 0) {
    // No backend call on a zero-size tensor: zeros, and the (empty) factors for the optimizer's book-keeping.
    const sqNorms = new Float64Array(0);
    factors(sqNorms);
    return { grads: vars.map((v) => new Float32Array(v.size)), sqNorms, loss: Number.NaN };
  }
  const inputs = Array.isArray(xs) ? xs : [xs];
  // Every example's gradients are kept until the factors are known (B x D on the backend).
  const kept: tf.Tensor[] = [];
  try {
    const per: ReturnType<typeof exampleGrads>[] = [];
    for (let i = 0; i < b; i++) {
      const e = exampleGrads(model, inputs, ys, loss, vars, i);
      kept.push(e.value, e.sq, ...e.grads);
      per.push(e);
    }
    const stats = tf.tidy(() => tf.stack([...per.map((e) => e.sq), ...per.map((e) => e.value)]));
    kept.push(stats);
    const read = await stats.data();
    const sqNorms = Float64Array.from(read.subarray(0, b));
    let lossSum = 0;
    for (let i = 0; i < b; i++) lossSum += read[b + i]!;
    const c = factors(sqNorms);
    if (!(c instanceof Float32Array) || c.length !== b) {
      throw invalidArgument('factors(sqNorms)', `a Float32Array of ${b}`, c);
    }
    // Examples with factor 0 (non-finite norms among them) are left out: 0·NaN would poison the sum.
    const rows = [...c.keys()].filter((i) => c[i] !== 0);
    const grads: Float32Array[] = [];
    for (const [k, v] of vars.entries()) {
      if (rows.length === 0) {
        grads.push(new Float32Array(v.size));
        continue;
      }
      const sum = tf.tidy(() => {
        const w = tf.tensor2d(
          Float32Array.from(rows, (i) => c[i]!),
          [1, rows.length],
        );
        const g = tf.reshape(tf.stack(rows.map((i) => per[i]!.grads[k]!)), [rows.length, v.size]);
        return tf.matMul(w, g);
      });
      kept.push(sum);
      grads.push((await sum.data()) as Float32Array);
    }
    return { grads, sqNorms, loss: lossSum / b };
  } finally {
    for (const t of kept) t.dispose();
  }
};
