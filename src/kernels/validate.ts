// Argument checks shared by the kernel wrappers. Each throws an error naming the argument.
import { invalidArgument, invalidType } from '../errors.js';

function isDetached(buffer: ArrayBufferLike): boolean {
  // Node 20 has no ArrayBuffer.prototype.detached; constructing a view on a detached buffer throws.
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/** A Float32Array that is attached; with nonEmpty, also of positive length. */
export function float32Array(name: string, value: unknown, nonEmpty = true): Float32Array {
  if (!(value instanceof Float32Array)) throw invalidType(name, 'a Float32Array', value);
  if (value.length === 0) {
    if (isDetached(value.buffer)) throw invalidType(name, 'an attached Float32Array (its buffer was transferred)', value);
    if (nonEmpty) throw invalidArgument(`${name}.length`, 'positive', 0);
  }
  return value;
}

/** An output buffer: undefined, or a Float32Array of exactly `length` elements. */
export function outputArray(name: string, value: unknown, length: number): Float32Array {
  if (value === undefined) return new Float32Array(length);
  const out = float32Array(name, value, false);
  if (out.length !== length) throw invalidArgument(`${name}.length`, `${length}`, out.length);
  return out;
}

/** A positive safe integer. */
export function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(name, 'a positive integer', value);
  if (!Number.isSafeInteger(value) || value <= 0) throw invalidArgument(name, 'a positive integer', value);
  return value;
}

/** A non-negative safe integer. */
export function nonNegativeInteger(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(name, 'a non-negative integer', value);
  if (!Number.isSafeInteger(value) || value < 0) throw invalidArgument(name, 'a non-negative integer', value);
  return value;
}

/** A finite number > 0. */
export function positiveFinite(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(name, 'a positive finite number', value);
  if (!(value > 0) || !Number.isFinite(value)) throw invalidArgument(name, 'a positive finite number', value);
  return value;
}

/** A finite number >= 0. */
export function nonNegativeFinite(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(name, 'a non-negative finite number', value);
  if (!(value >= 0) || !Number.isFinite(value)) throw invalidArgument(name, 'a non-negative finite number', value);
  return value;
}

/** An options object or undefined. */
export function optionsObject<T extends object>(name: string, value: T | undefined): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidType(name, 'an object', value);
  }
  return value;
}

/** The row length of a batchSize x D matrix held in a flat array. */
export function rowLength(name: string, array: Float32Array, batchSize: number): number {
  if (array.length % batchSize !== 0) {
    throw invalidArgument(`${name}.length`, `a multiple of batchSize (${batchSize})`, array.length);
  }
  return array.length / batchSize;
}

/** Parameter-group end offsets: strictly increasing positive integers ending at dim. */
export function groupEnds(name: string, value: unknown, dim: number): Float64Array {
  if (!Array.isArray(value) && !ArrayBuffer.isView(value)) throw invalidType(name, 'an array of end offsets', value);
  const ends = Float64Array.from(value as ArrayLike<number>);
  if (ends.length === 0) throw invalidArgument(`${name}.length`, 'positive', 0);
  let prev = 0;
  for (let g = 0; g < ends.length; g++) {
    const end = ends[g]!;
    if (!Number.isSafeInteger(end) || end <= prev) {
      throw invalidArgument(`${name}[${g}]`, `an integer greater than ${prev} (ends strictly increase)`, end);
    }
    prev = end;
  }
  if (prev !== dim) throw invalidArgument(`${name}[${ends.length - 1}]`, `the row length ${dim}`, prev);
  return ends;
}

/** One clipping threshold per group: maxNorm for every group, or options.maxNorms. */
export function thresholds(maxNorm: unknown, maxNormsOption: unknown, ends: Float64Array | null, groupCount: number): Float64Array {
  const flat = positiveFinite('maxNorm', maxNorm);
  if (maxNormsOption === undefined) return new Float64Array(groupCount).fill(flat);
  if (ends === null) throw invalidArgument('options.maxNorms', 'given together with options.groups', maxNormsOption);
  if (!Array.isArray(maxNormsOption) && !ArrayBuffer.isView(maxNormsOption)) {
    throw invalidType('options.maxNorms', 'an array of numbers', maxNormsOption);
  }
  const maxNorms = Float64Array.from(maxNormsOption as ArrayLike<number>);
  if (maxNorms.length !== groupCount) {
    throw invalidArgument('options.maxNorms.length', `the number of groups (${groupCount})`, maxNorms.length);
  }
  maxNorms.forEach((c, g) => positiveFinite(`options.maxNorms[${g}]`, c));
  return maxNorms;
}

/** Non-negative finite weights as a Float64Array, each checked by index. */
export function weightsArray(weights: unknown): Float64Array {
  if (!Array.isArray(weights) && !ArrayBuffer.isView(weights)) {
    throw invalidType('weights', 'an array of non-negative numbers', weights);
  }
  const w = Float64Array.from(weights as ArrayLike<number>);
  w.forEach((value, k) => nonNegativeFinite(`weights[${k}]`, value));
  return w;
}
