// Per-example losses for DP-SGD: a shape-[B] tensor (one loss per example, never reduced over the
// batch: each example's gradient is clipped on its own). Keras names map to tfjs-layers' own
// metrics, which take probabilities as tfjs's model.compile does: the output is renormalised and
// clipped to [ε, 1 − ε] before the log. So the model's last activation decides: a softmax (or
// sigmoid) output is what the crossentropy names expect; a model that outputs logits (linear last
// activation) is refused for them — pass a function instead, e.g.
// (y, z) => tf.losses.softmaxCrossEntropy(y, z, undefined, undefined, tf.Reduction.NONE).
import * as tf from '@tensorflow/tfjs-core';
import { type LayersModel, metrics } from '@tensorflow/tfjs-layers';
import { invalidArgument, invalidType } from '../errors.js';
import type { PerExampleLoss } from './gradient-types.js';

export type LossName =
  | 'categoricalCrossentropy'
  | 'sparseCategoricalCrossentropy'
  | 'binaryCrossentropy'
  | 'meanSquaredError';

const NAMES: readonly LossName[] = [
  'categoricalCrossentropy',
  'sparseCategoricalCrossentropy',
  'binaryCrossentropy',
  'meanSquaredError',
];

/** Integer labels ([B] or [B, 1]) → one-hot over the output's last axis, then categorical crossentropy. */
function sparseCategoricalCrossentropy(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const depth = yPred.shape[yPred.rank - 1] as number;
    const labels = tf.cast(tf.reshape(yTrue, [-1]), 'int32') as tf.Tensor1D;
    return metrics.categoricalCrossentropy(tf.reshape(tf.oneHot(labels, depth), yPred.shape), yPred);
  });
}

const BY_NAME: Record<LossName, PerExampleLoss> = {
  categoricalCrossentropy: (y, p) => metrics.categoricalCrossentropy(y, p),
  sparseCategoricalCrossentropy,
  binaryCrossentropy: (y, p) => metrics.binaryCrossentropy(y, p),
  meanSquaredError: (y, p) => metrics.meanSquaredError(y, p),
};

/**
 * The activation of the model's (single) output layer when it is known ('softmax', 'linear', ...):
 * Dense and Activation layers carry it in their config, a Softmax layer is one.
 */
export function outputActivation(model: LayersModel): string | undefined {
  // The output tensor's source layer (a Sequential's outputLayers is empty: its inner model has them).
  const layer = model.outputs?.[0]?.sourceLayer;
  if (layer === undefined) return undefined;
  if (layer.getClassName() === 'Softmax') return 'softmax';
  const activation = (layer.getConfig() as { activation?: unknown }).activation;
  return typeof activation === 'string' ? activation : undefined;
}

/** Reduces a loss to one value per example (mean over non-batch axes) and checks it has shape [B]. */
function perExample(name: string, fn: PerExampleLoss): PerExampleLoss {
  return (yTrue, yPred) => {
    const out = fn(yTrue, yPred);
    if (!(out instanceof tf.Tensor)) throw invalidType(`${name}(yTrue, yPred)`, 'a tf.Tensor', out);
    const b = yPred.shape[0];
    if (out.rank === 0 || out.shape[0] !== b) {
      out.dispose();
      const expected = `a tensor of one loss per example (shape [${b}, ...]: not reduced over the batch)`;
      throw invalidArgument(`${name}(yTrue, yPred)`, expected, `shape [${out.shape.join(', ')}]`);
    }
    if (out.rank === 1) return out;
    const axes = Array.from({ length: out.rank - 1 }, (_, i) => i + 1);
    const mean = tf.mean(out, axes);
    out.dispose();
    return mean;
  };
}

/**
 * The per-example loss of a Keras name or a user function (yTrue, yPred) => [B] tensor. With a
 * model, a crossentropy name is refused when the model's output is known to be logits.
 */
export function resolveLoss(loss: LossName | PerExampleLoss, model?: LayersModel): PerExampleLoss {
  if (typeof loss === 'function') return perExample('loss', loss);
  if (typeof loss !== 'string' || !NAMES.includes(loss as LossName)) {
    throw invalidArgument('loss', `one of ${NAMES.map((n) => `"${n}"`).join(', ')} or a function`, loss);
  }
  if (model !== undefined && loss !== 'meanSquaredError' && outputActivation(model) === 'linear') {
    const expected =
      'used with a model whose last activation gives probabilities (softmax or sigmoid); ' +
      'for logits pass a loss function (yTrue, yPred) => [B] tensor';
    throw invalidArgument(`loss "${loss}"`, expected, 'a model with a linear output (logits)');
  }
  return perExample(`loss "${loss}"`, BY_NAME[loss as LossName]);
}
