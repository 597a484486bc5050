// The argument checks of every layer of dpfl (kernels, accounting, models, data, dpsgd, fl, audit): each
// throws a typed error naming the argument (src/errors.ts) before anything is allocated or written.
// Pure TypeScript (no addon, no node:*): dpfl/accounting imports it and runs in browsers. Domain checks
// (a dataset's shape, an audit report's fields) stay in their layer, built from these.
import { invalidArgument, invalidType, withCode } from './errors.js';

// ---------------------------------------------------------------------------------------------------
// Numbers

/**
 * A number that passes `ok`: a TypeError expecting `typeExpected` for a non-number, a RangeError
 * expecting `expected` for a number that fails. Every number check below is one of these.
 */
export function numberWhere(
  name: string,
  value: unknown,
  ok: (v: number) => boolean,
  expected: string,
  typeExpected = 'a number',
): number {
  if (typeof value !== 'number') throw invalidType(name, typeExpected, value);
  if (!ok(value)) throw invalidArgument(name, expected, value);
  return value;
}

const isFiniteNumber = (v: number): boolean => Number.isFinite(v);
const isPositiveFinite = (v: number): boolean => v > 0 && Number.isFinite(v);
const isNonNegativeFinite = (v: number): boolean => v >= 0 && Number.isFinite(v);
const isPositiveInteger = (v: number): boolean => Number.isSafeInteger(v) && v > 0;
const isNonNegativeInteger = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;

/** Any number, NaN and ±Infinity included (e.g. a value that is only formatted). */
export function numberValue(name: string, value: unknown): number {
  return numberWhere(name, value, () => true, 'a number');
}

/** A number that is not NaN (±Infinity allowed). */
export function notNaN(name: string, value: unknown): number {
  return numberWhere(name, value, (v) => !Number.isNaN(v), 'a number (not NaN)');
}

/** A finite number. */
export function finiteNumber(name: string, value: unknown): number {
  return numberWhere(name, value, isFiniteNumber, 'a finite number', 'a finite number');
}

/** A finite number, or `fallback` when undefined. */
export function optionalFinite(name: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : finiteNumber(name, value);
}

/** A finite number > 0. */
export function positiveFinite(name: string, value: unknown): number {
  return numberWhere(name, value, isPositiveFinite, 'a positive finite number', 'a positive finite number');
}

/** A finite number > 0, in the accounting library's words ("a finite number > 0"). */
export function positiveNumber(name: string, value: unknown): number {
  return numberWhere(name, value, isPositiveFinite, 'a finite number > 0');
}

/** A number >= 0 (+Infinity allowed: e.g. an ε or a step count that is only compared). */
export function nonNegativeNumber(name: string, value: unknown): number {
  return numberWhere(name, value, (v) => v >= 0, 'a number >= 0');
}

/** A finite number >= 0. */
export function nonNegativeFinite(name: string, value: unknown): number {
  return numberWhere(name, value, isNonNegativeFinite, 'a non-negative finite number', 'a non-negative finite number');
}

/** A number in the open interval (0, 1): δ, a confidence level, a quantile. */
export function openUnitInterval(name: string, value: unknown): number {
  return numberWhere(name, value, (v) => v > 0 && v < 1, 'in (0, 1)');
}

/** A number in the half-open interval (0, 1]: a sampling rate. */
export function halfOpenUnitInterval(name: string, value: unknown): number {
  return numberWhere(name, value, (v) => v > 0 && v <= 1, 'in (0, 1]');
}

/** A number in [0, 1]: a probability (0 and 1 allowed). */
export function unitInterval(name: string, value: unknown): number {
  return numberWhere(name, value, (v) => v >= 0 && v <= 1, 'in [0, 1]');
}

// ---------------------------------------------------------------------------------------------------
// Integers

/** A positive safe integer. */
export function positiveInteger(name: string, value: unknown): number {
  return numberWhere(name, value, isPositiveInteger, 'a positive integer', 'a positive integer');
}

/** A non-negative safe integer. */
export function nonNegativeInteger(name: string, value: unknown): number {
  return numberWhere(name, value, isNonNegativeInteger, 'a non-negative integer', 'a non-negative integer');
}

/** A safe integer >= min. */
export function integerAtLeast(name: string, value: unknown, min: number): number {
  return numberWhere(name, value, (v) => Number.isSafeInteger(v) && v >= min, `an integer >= ${min}`);
}

/** A safe integer in [min, max], the range described by `expectation` (a non-number: `typeExpected`). */
export function integerIn(
  name: string,
  value: unknown,
  min: number,
  max: number,
  expectation: string,
  typeExpected = 'a number',
): number {
  return numberWhere(name, value, (v) => Number.isSafeInteger(v) && v >= min && v <= max, expectation, typeExpected);
}

// ---------------------------------------------------------------------------------------------------
// Booleans, strings, choices, objects

/** A boolean. */
export function booleanValue(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidType(name, 'a boolean', value);
  return value;
}

/** An optional boolean flag (undefined: the default). */
export function optionalBoolean(name: string, value: unknown, fallback: boolean): boolean {
  return value === undefined ? fallback : booleanValue(name, value);
}

/** A string. */
export function stringValue(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidType(name, 'a string', value);
  return value;
}

/** One of the listed strings (undefined: fallback), refused with the list as `"a", "b" or "c"`. */
export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (!allowed.includes(value as T)) {
    const list = allowed
      .map((a) => JSON.stringify(a))
      .join(', ')
      .replace(/, ([^,]*)$/, ' or $1');
    throw invalidArgument(name, list, value);
  }
  return value as T;
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

/** An object whose `methods` members are functions (a caller's model, rng, sampler). */
export function withMethods<T>(name: string, value: unknown, expected: string, ...methods: string[]): T {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    throw invalidType(name, expected, value);
  }
  for (const m of methods) {
    const f = (value as Record<string, unknown>)[m];
    if (typeof f !== 'function') throw invalidType(`${name}.${m}`, 'a function', f);
  }
  return value as T;
}

// ---------------------------------------------------------------------------------------------------
// Typed arrays and element counts

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

/**
 * Refuses a typed array whose buffer was transferred (reading one throws an uncoded TypeError); any
 * other value passes. Only an empty view can be detached, so this costs nothing for real data.
 */
export function attachedView(name: string, value: unknown, expected: string): void {
  if (typedArrayKind(value) === undefined || (value as ArrayBufferView).byteLength !== 0) return;
  if (isDetached((value as ArrayBufferView).buffer)) {
    throw invalidType(name, `${expected} (attached: its buffer was transferred)`, value);
  }
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

/**
 * What numberArray does with an empty typed array whose buffer was transferred: refuse it ('attached':
 * "… (attached)"; 'transferred': "… (attached: its buffer was transferred)") or read it as empty.
 */
export type DetachedPolicy = 'attached' | 'transferred' | 'empty';

/** An array or typed array of numbers, read once into a Float64Array; each element checked by index. */
export function numberArray(
  name: string,
  value: unknown,
  expected = 'an array of numbers',
  detached: DetachedPolicy = 'attached',
): Float64Array {
  if (typedArrayKind(value) !== undefined) {
    const view = value as ArrayLike<unknown> & ArrayBufferView;
    if (view.length === 0) {
      // Reading a detached view throws an uncoded TypeError, so it is settled before the copy.
      if (detached === 'empty') return new Float64Array(0);
      if (detached === 'transferred') attachedView(name, value, expected);
      else if (isDetached(view.buffer)) throw invalidType(name, `${expected} (attached)`, value);
    }
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
