// The argument checks of dpfl/tfjs (a tf.LayersModel, a batch of tensors), on src/validate.ts: one
// place, so the trainer, ghost clipping, the per-example loop and the FL adapter refuse alike.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { invalidArgument, invalidType } from '../errors.js';
import { withMethods } from '../validate.js';

/** A tf.LayersModel (Sequential or functional): apply/predict/getWeights, inputs, outputs, trainableWeights. */
export function layersModel(name: string, value: unknown): LayersModel {
  withMethods(name, value, 'a tf.LayersModel', 'apply', 'predict', 'getWeights');
  const m = value as Partial<LayersModel>;
  if (!Array.isArray(m.inputs) || !Array.isArray(m.outputs) || !Array.isArray(m.trainableWeights)) {
    throw invalidType(name, 'a tf.LayersModel', value);
  }
  return value as LayersModel;
}

/** The batch size shared by every input and the targets (the first axis); typed errors otherwise. */
export function batchSize(xs: unknown, ys: unknown): number {
  if (!(ys instanceof tf.Tensor)) throw invalidType('ys', 'a tf.Tensor', ys);
  const b = ys.shape[0];
  if (ys.rank === 0 || b === undefined) throw invalidArgument('ys', 'a tensor with a batch axis', 'a scalar');
  for (const [i, x] of (Array.isArray(xs) ? xs : [xs]).entries()) {
    if (!(x instanceof tf.Tensor)) throw invalidType(`xs[${i}]`, 'a tf.Tensor', x);
    if (x.rank === 0 || x.shape[0] !== b) {
      throw invalidArgument(`xs[${i}].shape[0]`, `the batch size of ys (${b})`, x.rank === 0 ? 'a scalar' : x.shape[0]);
    }
  }
  return b;
}
