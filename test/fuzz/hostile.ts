// Arbitraries for the public-API fuzzer: valid values mixed with hostile ones (Proxy-wrapped and
// detached typed arrays, subarray views, huge/negative/NaN/non-integer sizes, BigInt/Symbol/strings
// inside arrays, null/undefined options, getters that throw, lengths whose output would not allocate).
import fc from 'fast-check';

/** What a getter of the fuzzer throws: the caller's own exception, which dpfl may let through unchanged. */
export class CallerError extends Error {
  override name = 'CallerError';
}

/** An object whose every property read throws (a hostile Proxy). */
export function throwingProxy(): object {
  // Symbol-keyed reads pass (fast-check looks for its own symbols on every value).
  return new Proxy(
    {},
    {
      get: (_t, key) => {
        if (typeof key === 'symbol') return undefined;
        throw new CallerError(`get trap ${key}`);
      },
    },
  );
}

function throwingGetter(key: string): object {
  return Object.defineProperty({}, key, {
    enumerable: true,
    get: () => {
      throw new CallerError(`getter ${key}`);
    },
  });
}

function detached<T extends ArrayBufferView>(a: T): T {
  structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
  return a;
}

/** The same data in a view at a byte offset inside a larger buffer. */
function offsetView(a: Float32Array): Float32Array {
  const big = new Float32Array(a.length + 3);
  const v = big.subarray(2, 2 + a.length);
  v.set(a);
  return v;
}

/**
 * Sizes that are not positive safe integers, or too large for any array dpfl allocates (> 2^32 − 1).
 * 2^31 is valid but costly (a model or dataset of 2^31 rows is built, slowly): only `sized` uses it,
 * where the arrays given with it never match.
 */
export const HOSTILE_NUMBERS = [
  -1,
  -0,
  0.5,
  -2.5,
  NaN,
  Infinity,
  -Infinity,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 40,
  2 ** 53,
  2 ** 53 + 2,
  1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  -(2 ** 53),
];

const hostileNumber = fc.constantFrom(...HOSTILE_NUMBERS);

/** Scalars and junk that are never a valid size, array or options object. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  fc.constantFrom(null, undefined, true, '3', '', 3n, -1n, 2n ** 70n, Symbol('fuzz'), [], [3], {}, () => 1),
  fc.constant(null).map(() => throwingProxy()),
  fc.constant(null).map(() => throwingGetter('length')),
  fc.constant(null).map(() => new Proxy([1, 2, 3], {})),
  fc.constant(null).map(() => Object.create(Float32Array.prototype) as unknown),
  fc.constant(null).map(() => new Date(0)),
);

/** A valid value most of the time, else junk. */
export function mix<T>(
  valid: fc.Arbitrary<T>,
  hostile: fc.Arbitrary<unknown> = junk,
  weight = 4,
): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: valid, weight }, { arbitrary: hostile, weight: 1 });
}

/** A size: a small valid integer, else a hostile number or junk. */
export function size(min = 0, max = 6): fc.Arbitrary<unknown> {
  return mix(fc.integer({ min, max }), fc.oneof(hostileNumber, junk));
}

/** Finite float32 data of exactly n elements, sometimes holding NaN/Inf. */
function floats(n: number): fc.Arbitrary<Float32Array> {
  return fc.oneof(
    {
      arbitrary: fc.float32Array({
        minLength: n,
        maxLength: n,
        noNaN: true,
        noDefaultInfinity: true,
        min: -1e3,
        max: 1e3,
      }),
      weight: 6,
    },
    { arbitrary: fc.float32Array({ minLength: n, maxLength: n }), weight: 1 },
  );
}

/**
 * A Float32Array argument expected to hold n elements (any small length when n is undefined), in
 * every brand: plain, offset view, Proxy-wrapped, detached, fake, wrong length, wrong element type.
 */
export function f32(n?: number): fc.Arbitrary<unknown> {
  const len = n === undefined ? fc.integer({ min: 0, max: 12 }) : fc.constant(n);
  const data = len.chain(floats);
  return fc.oneof(
    { arbitrary: data, weight: 12 },
    { arbitrary: data.map(offsetView), weight: 3 },
    { arbitrary: data.map((a) => new Proxy(a, {})), weight: 1 },
    { arbitrary: data.map(detached), weight: 1 },
    { arbitrary: fc.integer({ min: 0, max: 9 }).chain(floats), weight: 1 },
    { arbitrary: len.map((k) => new Float64Array(k)), weight: 1 },
    { arbitrary: len.map((k) => Array.from({ length: k }, () => 1)), weight: 1 },
    { arbitrary: fc.constant(null).map(() => [1, 2n, Symbol('x'), '4']), weight: 1 },
    { arbitrary: junk, weight: 2 },
  );
}

/** A Float64Array (output buffers of the ghost-norm kernels). */
export function f64(n: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constant(null).map(() => new Float64Array(n)), weight: 6 },
    { arbitrary: fc.constant(null).map(() => new Proxy(new Float64Array(n), {})), weight: 1 },
    { arbitrary: fc.constant(null).map(() => detached(new Float64Array(n))), weight: 1 },
    { arbitrary: fc.constant(null).map(() => new Float64Array(n + 1)), weight: 1 },
    { arbitrary: junk, weight: 1 },
  );
}

function intArray<T extends Int32Array | Uint32Array>(
  make: (xs: number[]) => T,
  values: fc.Arbitrary<number[]>,
): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: values.map(make), weight: 8 },
    { arbitrary: values.map((xs) => new Proxy(make(xs), {})), weight: 1 },
    { arbitrary: values.map((xs) => detached(make(xs))), weight: 1 },
    { arbitrary: values.map((xs) => Float32Array.from(xs)), weight: 1 },
    { arbitrary: junk, weight: 1 },
  );
}

export function i32(values: fc.Arbitrary<number[]>): fc.Arbitrary<unknown> {
  return intArray((xs) => Int32Array.from(xs), values);
}

export function u32(values: fc.Arbitrary<number[]>): fc.Arbitrary<unknown> {
  return intArray((xs) => Uint32Array.from(xs, (x) => x >>> 0), values);
}

/** A list of numbers (weights, group ends, thresholds) as an array or typed array, sometimes with junk inside. */
export function numberList(valid: fc.Arbitrary<number[]>): fc.Arbitrary<unknown> {
  const junkElement = fc.oneof(hostileNumber, fc.constantFrom(1n, Symbol('e'), '2', null, undefined, {}));
  return fc.oneof(
    { arbitrary: valid, weight: 8 },
    { arbitrary: valid.map((xs) => Float64Array.from(xs)), weight: 2 },
    { arbitrary: valid.map((xs) => new Proxy(xs, {})), weight: 1 },
    {
      arbitrary: fc.tuple(valid, junkElement, fc.nat()).map(([xs, j, k]) => {
        const out: unknown[] = [...xs];
        out.splice(xs.length === 0 ? 0 : k % (xs.length + 1), 0, j);
        return out;
      }),
      weight: 3,
    },
    { arbitrary: fc.constant(null).map(() => throwingGetter('0')), weight: 1 },
    { arbitrary: junk, weight: 1 },
  );
}

/**
 * An options object: undefined, {} or some of the given fields (each possibly hostile); sometimes
 * null, junk, an object with a throwing getter or a throwing Proxy.
 */
export function options(fields: Record<string, fc.Arbitrary<unknown>>, required = false): fc.Arbitrary<unknown> {
  const record = fc.record(fields, { requiredKeys: [] });
  const keys = Object.keys(fields);
  return fc.oneof(
    { arbitrary: required ? record : fc.oneof(fc.constant(undefined), record), weight: 10 },
    { arbitrary: fc.constantFrom(null, 'opts', 3, [] as unknown), weight: 1 },
    { arbitrary: fc.constantFrom(...(keys.length > 0 ? keys : ['x'])).map(throwingGetter), weight: 1 },
    { arbitrary: fc.constant(null).map(throwingProxy), weight: 1 },
  );
}

const KEYS = [
  'seed',
  'size',
  'dim',
  'classes',
  'steps',
  'sampleRate',
  'noiseMultiplier',
  'delta',
  'epsilon',
  'rounds',
  'clients',
  'batchSize',
  'maxGradNorm',
  'lr',
  'kind',
  'sigma',
  'count',
  'rows',
  'out',
  'groups',
  'weights',
  'updates',
  'name',
  'orders',
  'events',
  'event',
  'model',
  'labels',
  'x',
  'trim',
  'samples',
  'scores',
  'members',
  'alpha',
  'beta',
  'n',
];

/** Anything at all, for the exports without a shape of their own: scalars, junk, arrays, objects. */
export const anything: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -3, max: 20 }),
    fc.double(),
    junk,
    fc.string({ maxLength: 8 }),
    f32(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 4 }),
  ),
})).value;
