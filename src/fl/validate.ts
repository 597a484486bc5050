// Argument checks of the FL and DP-SGD entry points, built on the generic validators of src/validate.ts: each runs once
// at a public entry, so the training loops behind it stay free of checks.
import { gatherBatch, type Dataset } from '../data/dataset.js';
import { invalidArgument, invalidType } from '../errors.js';
import {
  attachedView,
  finiteNumber,
  nonNegativeFinite,
  nonNegativeInteger,
  positiveInteger,
  requiredObject,
  sizedFloat32,
  typedArrayKind,
  withMethods,
} from '../validate.js';
import type { LocalTrainingOptions } from './model.js';

/** A src/data Dataset, checked by src/data itself (gathering no rows runs its full dataset check). */
export function dataset(name: string, value: unknown): Dataset {
  requiredObject(name, value as object);
  gatherBatch(value as Dataset, new Int32Array(0));
  return value as Dataset;
}

/**
 * A Dataset the FL loops index by label (pools, logits, histograms): dataset's checks and every
 * label a class in [0, classes) (O(size): once per entry, not per round).
 */
export function labelledDataset(name: string, value: unknown): Dataset {
  const d = dataset(name, value);
  const c = positiveInteger(`${name}.classes`, d.classes);
  d.labels.forEach((y, i) => {
    if (y < 0 || y >= c) throw invalidArgument(`${name}.labels[${i}]`, `a class in [0, ${c})`, y);
  });
  return d;
}

/** Example indices into data of n examples: an array or typed array of integers in [0, n). */
export function exampleIndices(name: string, value: unknown, n: number): ArrayLike<number> {
  if (!Array.isArray(value) && typedArrayKind(value) === undefined) {
    throw invalidType(name, 'an array of example indices', value);
  }
  attachedView(name, value, 'an array of example indices');
  const a = value as ArrayLike<unknown>;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v !== 'number') throw invalidType(`${name}[${i}]`, 'an example index', v);
    if (!Number.isInteger(v) || v < 0 || v >= n) throw invalidArgument(`${name}[${i}]`, `an integer in [0, ${n})`, v);
  }
  return value as ArrayLike<number>;
}

/** The arguments of FlModel.train for a model of `dim` parameters, checked once per client update. */
export function localTraining(
  dim: number,
  params: unknown,
  global: unknown,
  data: Dataset,
  indices: unknown,
  options: unknown,
  rng: unknown,
): void {
  sizedFloat32('params', params, dim);
  sizedFloat32('global', global, dim);
  exampleIndices('indices', indices, data.size);
  const o = requiredObject('options', options as LocalTrainingOptions);
  nonNegativeInteger('options.epochs', o.epochs);
  positiveInteger('options.batchSize', o.batchSize);
  finiteNumber('options.lr', o.lr);
  nonNegativeFinite('options.mu', o.mu);
  withMethods('rng', rng, 'a Random', 'shuffle');
}
