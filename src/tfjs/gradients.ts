// Ghost clipping for tf.LayersModel: per-example gradient norms and the clipped gradient sum Σ_i c_i ∇ℓ_i
// from ONE forward and ONE input-gradient backward pass, instead of B batch-of-one passes (Goodfellow 2015;
// Li et al. 2022 ghost clipping; Bu et al. 2023 mixed ghost / per-example for convolutions). The clipped
// sum is formed per layer from the stored inputs and c∘g of that same pass, so it is exactly Σ c_i ∇ℓ_i of
// the gradients whose norms were measured.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { invalidArgument, invalidType } from '../errors.js';
import { sizedFloat32 } from '../validate.js';
import { type Captured, install, refuseShared } from './ghost/capture.js';
import { planModel } from './ghost/plan.js';
import type { Opened } from './ghost/rule.js';
import type { ClippedGradients, PerExampleLoss } from './gradient-types.js';
import { batchSize, layersModel } from './validate.js';

export type { ClippedGradients, PerExampleLoss } from './gradient-types.js';

/**
 * Σ_i loss_i of the model on the batch. A loss of the wrong shape is reported through `fail` and replaced by
 * 0·Σ yPred, so the taped pass still ends normally (throwing inside it leaks the tensors saved for backward).
 */
function lossSum(
  model: LayersModel,
  xs: tf.Tensor | tf.Tensor[],
  ys: tf.Tensor,
  loss: PerExampleLoss,
  B: number,
  fail: (e: Error) => void,
): tf.Scalar {
  const out = model.apply(xs, { training: true }) as tf.Tensor | tf.Tensor[];
  const outputs = Array.isArray(out) ? out : [out];
  if (outputs.length !== 1)
    fail(invalidArgument('model outputs', 'exactly one (ys is a single tensor)', outputs.length));
  const l = loss(ys, outputs[0]!);
  if (l instanceof tf.Tensor && l.rank === 1 && l.shape[0] === B) return tf.sum(l);
  fail(invalidArgument('loss(yTrue, yPred)', `a tensor of shape [${B}]`, l instanceof tf.Tensor ? `[${l.shape}]` : l));
  return tf.mul(tf.sum(outputs[0]!), 0);
}

/** factors(sqNorms) returns c_i (Float32Array of B; 0 drops an example). */
export async function ghostClippedGradients(
  model: LayersModel,
  xs: tf.Tensor | tf.Tensor[],
  ys: tf.Tensor,
  loss: PerExampleLoss,
  factors: (sqNorms: Float64Array) => Float32Array,
): Promise<ClippedGradients> {
  layersModel('model', model);
  if (typeof loss !== 'function') throw invalidType('loss', 'a function', loss);
  if (typeof factors !== 'function') throw invalidType('factors', 'a function', factors);
  const B = batchSize(xs, ys);
  const inputs = Array.isArray(xs) ? xs : [xs];
  if (inputs.length !== model.inputs.length)
    throw invalidArgument('xs.length', `${model.inputs.length}`, inputs.length);
  const rules = planModel(model);
  const weights = model.trainableWeights;
  const grads = weights.map((w) => new Float32Array(w.shape.reduce((p: number, d) => p * (d ?? 1), 1)));
  const clip = (sq: Float64Array) => {
    const c = sizedFloat32('factors(sqNorms)', factors(sq), B);
    for (const v of c)
      if (!(v >= 0 && Number.isFinite(v))) throw invalidArgument('factors(sqNorms)[i]', 'finite and ≥ 0', v);
    return c;
  };
  if (B === 0) {
    clip(new Float64Array(0));
    return { grads, sqNorms: new Float64Array(0), loss: 0 };
  }

  const caps = new Map([...rules.keys()].map((l) => [l, { calls: 0 } as Captured]));
  const owned: Array<{ dispose(): void }> = [];
  const seed = tf.scalar(0);
  owned.push(seed);
  try {
    let failure: Error | undefined;
    const sum = () => lossSum(model, xs, ys, loss, B, (e) => (failure ??= e));
    let total: tf.Scalar;
    if (rules.size === 0) {
      total = tf.tidy(sum);
    } else {
      const restore = install(rules, caps, seed);
      try {
        const { value, grads: seedGrad } = tf.valueAndGrads(sum)([seed]);
        tf.dispose(seedGrad);
        total = value;
      } finally {
        restore();
      }
    }
    owned.push(total);
    if (failure) throw failure;
    refuseShared(caps);

    const open: Array<[Opened, number[]]> = [];
    const index = new Map(weights.map((w, i) => [w, i]));
    for (const [layer, rule] of rules) {
      const cap = caps.get(layer)!;
      if (!cap.a) continue; // not on this model's forward path: zero gradient
      const g = cap.g ?? tf.zeros(cap.zShape!); // output unused by the loss: zero gradient
      const o = rule.open(cap.a, g);
      if (!cap.g) g.dispose();
      owned.push(o);
      open.push([o, rule.weights.map((w) => index.get(w)!)]);
    }
    const sqT = tf.tidy(() => (open.length ? tf.addN(open.map(([o]) => o.sqNorms())) : tf.zeros([B])));
    owned.push(sqT);
    const sqNorms = Float64Array.from(await sqT.data());
    const c = tf.tensor1d(clip(sqNorms));
    owned.push(c);
    for (const [o, at] of open) {
      const parts = o.clipped(c);
      owned.push(...parts);
      for (let k = 0; k < parts.length; k++) grads[at[k]!]!.set(await parts[k]!.data());
    }
    const mean = (await total.data())[0]! / B;
    return { grads, sqNorms, loss: mean };
  } finally {
    for (const t of owned) t.dispose();
    for (const cap of caps.values()) tf.dispose([cap.a, cap.g].filter((t): t is tf.Tensor => t != null));
  }
}
