// Argument checks shared by every layer of dpfl (kernels, models, data). Each throws a typed error
// naming the argument (src/errors.ts) before anything is allocated or written.
import { invalidArgument, invalidType, withCode } from '../errors.js';

function isDetached(buffer: ArrayBufferLike): boolean {
  // Node 20 has no ArrayBuffer.prototype.detached; constructing a view on a detached buffer throws.
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

export type TypedArrayName = 'Float32Array' | 'Float64Array' | 'Int32Array' | 'Uint32Array';
type TypedArrayOf<K extends TypedArrayName> = InstanceType<(typeof globalThis)[K]>;

// %TypedArray%.prototype[@@toStringTag] reads the internal slot of a real typed array: a Proxy, an
// object made with Object.create(Float32Array.prototype) or a spoofed Symbol.toStringTag all give
// undefined, where `instanceof` would pass. Works the same in browsers.
const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!
  .get as (this: unknown) => string | undefined;

/** The element type of a real typed array, or undefined for anything else (Proxies included). */
export function typedArrayKind(value: unknown): string | undefined {
  return ArrayBuffer.isView(value) ? typedArrayTag.call(value) : undefined;
}

/** A real, attached typed array of the given kind; with nonEmpty, also of positive length. */
export function typedArray<K extends TypedArrayName>(
  name: string,
  value: unknown,
  kind: K,
  nonEmpty = false,
): TypedArrayOf<K> {
  const article = kind.startsWith('I') ? 'an' : 'a';
  if (typedArrayKind(value) !== kind) throw invalidType(name, `${article} ${kind}`, value);
  const a = value as TypedArrayOf<K>;
  if (a.length === 0) {
    if (isDetached(a.buffer)) throw invalidType(name, `an attached ${kind} (its buffer was transferred)`, value);
    if (nonEmpty) throw invalidArgument(`${name}.length`, 'positive', 0);
  }
  return a;
}

/** A Float32Array that is attached; with nonEmpty, also of positive length. */
export function float32Array(name: string, value: unknown, nonEmpty = true): Float32Array {
  return typedArray(name, value, 'Float32Array', nonEmpty);
}

/** A Float32Array of exactly `length` elements. */
export function sizedFloat32(name: string, value: unknown, length: number): Float32Array {
  const a = float32Array(name, value, false);
  if (a.length !== length) throw invalidArgument(`${name}.length`, `${length}`, a.length);
  return a;
}

/**
 * The largest element count dpfl allocates for one array: 2^32 − 1, the typed-array limit of the
 * engines Node 20 ships (larger engines allow more, but the native kernels index rows with 32-bit
 * counts in places and no model here comes near it).
 */
export const MAX_ARRAY_LENGTH = 2 ** 32 - 1;

/**
 * The product of sizes as an element count, checked before anything is allocated: a product that
 * is not a safe integer or exceeds MAX_ARRAY_LENGTH is refused with an error naming `name`.
 */
export function elementCount(name: string, ...factors: number[]): number {
  let n = 1;
  for (const f of factors) n *= f;
  if (!Number.isSafeInteger(n) || n > MAX_ARRAY_LENGTH) {
    throw invalidArgument(name, `at most ${MAX_ARRAY_LENGTH} elements (${factors.join(' × ')})`, n);
  }
  return n;
}

/** new Float32Array(length) etc., with an impossible length or a failed allocation as typed errors. */
export function allocate<K extends TypedArrayName>(name: string, kind: K, length: number): TypedArrayOf<K> {
  const n = elementCount(`${name}.length`, length);
  try {
    return new globalThis[kind](n) as TypedArrayOf<K>;
  } catch (e) {
    throw outOfMemory(name, n * globalThis[kind].BYTES_PER_ELEMENT, e);
  }
}

/** The typed error for an allocation (JS or native) that failed. */
type OutOfMemoryError = RangeError & { code: 'ERR_DPFL_OUT_OF_MEMORY' };

export function outOfMemory(name: string, bytes: number, cause: unknown): OutOfMemoryError {
  const why = cause instanceof Error ? cause.message : String(cause);
  const message = `${name} could not be allocated (${bytes} bytes): ${why}`;
  return withCode(new RangeError(message), 'ERR_DPFL_OUT_OF_MEMORY') as OutOfMemoryError;
}

/** An output buffer: undefined, or a Float32Array of exactly `length` elements. */
export function outputArray(name: string, value: unknown, length: number): Float32Array {
  return typedOutput(name, value, 'Float32Array', length);
}

/** An output buffer of any kind: undefined (allocated here, after the checks) or exactly `length` elements. */
export function typedOutput<K extends TypedArrayName>(
  name: string,
  value: unknown,
  kind: K,
  length: number,
): TypedArrayOf<K> {
  if (value === undefined) return allocate(name, kind, length);
  const out = typedArray(name, value, kind);
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

/** A finite number. */
export function finiteNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(name, 'a finite number', value);
  if (!Number.isFinite(value)) throw invalidArgument(name, 'a finite number', value);
  return value;
}

/** A finite number, or `fallback` when undefined. */
export function optionalFinite(name: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : finiteNumber(name, value);
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
  return requiredObject(name, value);
}

/** An options object that must be given (e.g. one holding a required learning rate). */
export function requiredObject<T extends object>(name: string, value: T | undefined): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw invalidType(name, 'an object', value);
  }
  return value;
}

/** An optional boolean flag (undefined: the default). */
export function optionalBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidType(name, 'a boolean', value);
  return value;
}

/** An array or typed array of numbers, read once into a Float64Array; each element checked by index. */
export function numberArray(name: string, value: unknown, expected = 'an array of numbers'): Float64Array {
  if (typedArrayKind(value) !== undefined) {
    const view = value as ArrayLike<unknown> & ArrayBufferView;
    if (view.length === 0 && isDetached(view.buffer)) throw invalidType(name, `${expected} (attached)`, value);
    if (typeof view[0] === 'bigint') throw invalidType(name, expected, value);
    const copy = allocate(name, 'Float64Array', view.length);
    copy.set(view as ArrayLike<number>);
    return copy;
  }
  if (!Array.isArray(value)) throw invalidType(name, expected, value);
  const length = (value as unknown[]).length;
  const out = allocate(name, 'Float64Array', length);
  for (let i = 0; i < length; i++) {
    const v: unknown = (value as unknown[])[i];
    if (typeof v !== 'number') throw invalidType(`${name}[${i}]`, 'a number', v);
    out[i] = v;
  }
  return out;
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
  const ends = numberArray(name, value, 'an array of end offsets');
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
  const maxNorms = numberArray('options.maxNorms', maxNormsOption);
  if (maxNorms.length !== groupCount) {
    throw invalidArgument('options.maxNorms.length', `the number of groups (${groupCount})`, maxNorms.length);
  }
  maxNorms.forEach((c, g) => positiveFinite(`options.maxNorms[${g}]`, c));
  return maxNorms;
}

/** Non-negative finite weights as a Float64Array, each checked by index. */
export function weightsArray(weights: unknown): Float64Array {
  const w = numberArray('weights', weights, 'an array of non-negative numbers');
  w.forEach((value, k) => nonNegativeFinite(`weights[${k}]`, value));
  return w;
}
