// Argument checks of the audit entry points, built on the generic validators of src/validate.ts:
// each public function converts its arrays once here, so the attack and bound loops run unchecked.
import { invalidArgument, invalidType } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import {
  elementCount,
  integerIn,
  nonNegativeInteger,
  notNaN,
  numberArray,
  positiveInteger,
  requiredObject,
  stringValue,
  typedArray,
  typedArrayKind,
} from '../validate.js';
import type { RocCurve } from './roc.js';

/** An array or typed array of numbers, none NaN, read once into a Float64Array. */
export function scoreArray(name: string, value: unknown): Float64Array {
  const out = numberArray(name, value, 'an array of numbers', 'empty');
  out.forEach((v, i) => notNaN(`${name}[${i}]`, v));
  return out;
}

/** An array or typed array of 0/1/true/false membership labels, read once into 0/1 bytes. */
export function labelArray(name: string, value: unknown): Uint8Array {
  const expected = 'an array of 0/1 membership labels';
  const typed = typedArrayKind(value) !== undefined;
  if (!typed && !Array.isArray(value)) throw invalidType(name, expected, value);
  if (typed && typeof (value as ArrayLike<unknown>)[0] === 'bigint') throw invalidType(name, expected, value);
  const a = value as ArrayLike<unknown>;
  const out = new Uint8Array(a.length);
  for (let i = 0; i < out.length; i++) {
    const l = a[i];
    if (l !== 0 && l !== 1 && l !== true && l !== false) {
      throw invalidArgument(`${name}[${i}]`, '0, 1, true or false', l);
    }
    out[i] = l === 1 || l === true ? 1 : 0;
  }
  return out;
}

/** A RocCurve as rocCurve returns it: tpr and fpr of equal, positive length (the fields the metrics read). */
export function rocValue(name: string, value: unknown): RocCurve {
  const roc = requiredObject(name, value as object) as Record<string, unknown>;
  for (const key of ['tpr', 'fpr'] as const) {
    if (typedArrayKind(roc[key]) !== 'Float64Array') throw invalidType(`${name}.${key}`, 'a Float64Array', roc[key]);
  }
  const tpr = roc.tpr as Float64Array;
  const fpr = roc.fpr as Float64Array;
  if (tpr.length === 0) throw invalidArgument(`${name}.tpr.length`, 'positive', 0);
  if (fpr.length !== tpr.length) throw invalidArgument(`${name}.fpr.length`, `${tpr.length} (as tpr)`, fpr.length);
  return value as RocCurve;
}

/**
 * A Dataset whose arrays agree with its sizes and whose labels and token ids are in range (O(size + tokens),
 * once per audit: the training stack indexes them unchecked). src/data's own check is module-private.
 */
export function datasetValue(name: string, value: unknown): Dataset {
  const d = requiredObject(name, value as Dataset);
  const dsName = stringValue(`${name}.name`, d.name);
  const size = nonNegativeInteger(`${name}.size`, d.size);
  const featureDim = positiveInteger(`${name}.featureDim`, d.featureDim);
  const classes = integerIn(`${name}.classes`, d.classes, 2, 2 ** 31 - 1, 'an integer ≥ 2');
  const labels = typedArray(`${name}.labels`, d.labels, 'Int32Array');
  if (labels.length !== size) throw invalidArgument(`${name}.labels.length`, `${name}.size (${size})`, labels.length);
  for (let i = 0; i < size; i++) {
    if (!(labels[i]! >= 0 && labels[i]! < classes)) {
      throw invalidArgument(`${name}.labels[${i}]`, `in [0, ${classes})`, labels[i]);
    }
  }
  const kind: unknown = d.kind;
  if (kind === 'dense') {
    const n = elementCount(`${name}.size × ${name}.featureDim`, size, featureDim);
    const x = typedArray(`${name}.x`, d.x, 'Float32Array');
    if (x.length !== n) throw invalidArgument(`${name}.x.length`, `size × featureDim (${n})`, x.length);
    return { name: dsName, size, classes, kind: 'dense', featureDim, x, labels };
  }
  if (kind === 'bags') {
    const indices = typedArray(`${name}.indices`, d.indices, 'Int32Array');
    const offsets = typedArray(`${name}.offsets`, d.offsets, 'Int32Array');
    if (offsets.length !== size + 1) {
      throw invalidArgument(`${name}.offsets.length`, `size + 1 (${size + 1})`, offsets.length);
    }
    if (offsets[0] !== 0) throw invalidArgument(`${name}.offsets[0]`, '0', offsets[0]);
    for (let i = 0; i < size; i++) {
      if (!(offsets[i + 1]! >= offsets[i]! && offsets[i + 1]! <= indices.length)) {
        throw invalidArgument(`${name}.offsets[${i + 1}]`, `in [offsets[${i}], indices.length]`, offsets[i + 1]);
      }
    }
    for (let t = 0; t < offsets[size]!; t++) {
      if (!(indices[t]! >= 0 && indices[t]! < featureDim)) {
        throw invalidArgument(`${name}.indices[${t}]`, `a token id in [0, featureDim = ${featureDim})`, indices[t]);
      }
    }
    // A copy of the fields read: a getter cannot answer differently once training has started.
    return { name: dsName, size, classes, kind: 'bags', featureDim, indices, offsets, labels };
  }
  throw invalidArgument(`${name}.kind`, '"dense" or "bags"', kind);
}
