// Federated-learning kernels: robust aggregation (coordinate-wise median and trimmed mean, Krum,
// multi-Krum, Bulyan) and secure-aggregation arithmetic. Thin typed
// wrappers over the native core (native/include/dpfl/fl.h): validate, then call the binding.
import { binding } from '../native/binding.js';
import { invalidArgument, invalidType } from '../errors.js';
import {
  booleanValue,
  float32Array,
  nonNegativeInteger,
  numberValue,
  optionsObject,
  outputArray,
  positiveFinite,
  positiveInteger,
  typedArray,
} from '../validate.js';

export interface RobustOptions {
  /** Output buffer of length D. */
  out?: Float32Array;
}

export interface TrimmedMeanOptions extends RobustOptions {
  /** Values dropped at each end of every coordinate: a count (integer ≥ 1) or a fraction in [0, 0.5). Default 0.1. */
  trim?: number;
}

interface RobustArgs {
  updates: Float32Array[] | Float32Array;
  count: number;
  out: Float32Array;
}

function readRobust(updates: unknown, count: number | undefined, out: unknown): RobustArgs {
  let dim: number;
  let k: number;
  if (updates instanceof Float32Array) {
    float32Array('updates', updates);
    if (count === undefined) throw invalidArgument('count', 'given when updates is one K x D matrix', count);
    k = count;
    if (!Number.isSafeInteger(k) || k <= 0) throw invalidArgument('count', 'a positive integer', k);
    if (updates.length % k !== 0)
      throw invalidArgument('updates.length', `a multiple of count (${k}) for a K x D matrix`, updates.length);
    dim = updates.length / k;
  } else if (Array.isArray(updates)) {
    if (updates.length === 0) throw invalidArgument('updates.length', 'positive', 0);
    k = updates.length;
    dim = float32Array('updates[0]', updates[0]).length;
    updates.forEach((u, i) => {
      const v = float32Array(`updates[${i}]`, u);
      if (v.length !== dim) throw invalidArgument(`updates[${i}].length`, `${dim} like updates[0]`, v.length);
    });
  } else {
    throw invalidType('updates', 'an array of Float32Array or a K x D Float32Array', updates);
  }
  return { updates: updates as Float32Array[] | Float32Array, count: k, out: outputArray('options.out', out, dim) };
}

/** The number of values trimmed at each end for K updates: a count, or floor(fraction · K). */
export function trimCount(value: unknown, count: number): number {
  const trim = numberValue('options.trim', value);
  let t: number;
  if (trim >= 1) {
    if (!Number.isSafeInteger(trim))
      throw invalidArgument('options.trim', 'an integer count or a fraction in [0, 0.5)', trim);
    t = trim;
  } else {
    if (!(trim >= 0 && trim < 0.5))
      throw invalidArgument('options.trim', 'an integer count or a fraction in [0, 0.5)', trim);
    t = Math.floor(trim * count);
  }
  if (2 * t >= count) throw invalidArgument('options.trim', `less than half the updates (${count})`, trim);
  return t;
}

function matrixCount(updates: unknown, options: { count?: number } | undefined): number | undefined {
  return updates instanceof Float32Array ? options?.count : undefined;
}

/**
 * Coordinate-wise median of K updates (Yin et al., ICML 2018): out[d] = median of the K values of
 * coordinate d (mean of the two middle ones for even K). Unweighted. updates is K Float32Arrays of
 * length D, or one K×D Float32Array with options.count = K. A NaN/Inf update is refused with an
 * error naming it (code ERR_DPFL_NON_FINITE).
 */
export function coordinateMedian(
  updates: Float32Array[] | Float32Array,
  options?: RobustOptions & { count?: number },
): Float32Array {
  const opts = optionsObject('options', options);
  const a = readRobust(updates, matrixCount(updates, opts), opts.out);
  return binding.coordinateMedian(a.updates, a.count, a.out);
}

/**
 * coordinateMedian off the JavaScript thread. Do not modify the updates or out until it settles.
 * Buffers (README, "Buffers and async kernels"): the arrays are copied at the call, unless backed by a
 * SharedArrayBuffer (then used in place, no copy), and the outputs written when the work completes;
 * detaching (transferring) or resizing any of their buffers before then rejects with ERR_DPFL_DETACHED
 * and writes nothing.
 */
export async function coordinateMedianAsync(
  updates: Float32Array[] | Float32Array,
  options?: RobustOptions & { count?: number },
): Promise<Float32Array> {
  const opts = optionsObject('options', options);
  const a = readRobust(updates, matrixCount(updates, opts), opts.out);
  return binding.coordinateMedianAsync(a.updates, a.count, a.out);
}

/**
 * Coordinate-wise trimmed mean (Yin et al., ICML 2018): for each coordinate drop the `trim`
 * smallest and `trim` largest of the K values and average the rest (float64 sum). Unweighted.
 */
export function trimmedMean(
  updates: Float32Array[] | Float32Array,
  options?: TrimmedMeanOptions & { count?: number },
): Float32Array {
  const opts = optionsObject('options', options);
  const a = readRobust(updates, matrixCount(updates, opts), opts.out);
  return binding.trimmedMean(a.updates, a.count, trimCount(opts.trim ?? 0.1, a.count), a.out);
}

/**
 * trimmedMean off the JavaScript thread. Do not modify the updates or out until it settles.
 * Buffers (README, "Buffers and async kernels"): the arrays are copied at the call, unless backed by a
 * SharedArrayBuffer (then used in place, no copy), and the outputs written when the work completes;
 * detaching (transferring) or resizing any of their buffers before then rejects with ERR_DPFL_DETACHED
 * and writes nothing.
 */
export async function trimmedMeanAsync(
  updates: Float32Array[] | Float32Array,
  options?: TrimmedMeanOptions & { count?: number },
): Promise<Float32Array> {
  const opts = optionsObject('options', options);
  const a = readRobust(updates, matrixCount(updates, opts), opts.out);
  return binding.trimmedMeanAsync(a.updates, a.count, trimCount(opts.trim ?? 0.1, a.count), a.out);
}

export interface KrumOptions extends RobustOptions {
  /** f, the number of Byzantine (arbitrarily wrong) updates tolerated: an integer ≥ 0. Required. */
  byzantine: number;
  /** K when updates is one K×D Float32Array. */
  count?: number;
}

export interface MultiKrumOptions extends KrumOptions {
  /** m, the number of best-scored updates averaged: an integer in [1, K − f]. Default K − f. */
  keep?: number;
}

/** f, checked against the condition of Krum (K > 2f + 2) or of Bulyan (K ≥ 4f + 3). */
function byzantineCount(value: unknown, count: number, rule: 'krum' | 'bulyan'): number {
  const f = nonNegativeInteger('options.byzantine', value);
  if (rule === 'krum' && count <= 2 * f + 2) {
    const expected = `such that the ${count} updates are more than 2 · byzantine + 2 (Krum)`;
    throw invalidArgument('options.byzantine', expected, f);
  }
  if (rule === 'bulyan' && count < 4 * f + 3) {
    const expected = `such that the ${count} updates are at least 4 · byzantine + 3 (Bulyan)`;
    throw invalidArgument('options.byzantine', expected, f);
  }
  return f;
}

type Updates = Float32Array[] | Float32Array;

/** The checked binding arguments (updates, count, byzantine, out) of Krum or Bulyan, and the options read. */
function krumArgs(
  updates: unknown,
  options: unknown,
  rule: 'krum' | 'bulyan',
): { args: [Updates, number, number, Float32Array]; opts: Partial<MultiKrumOptions> } {
  const opts = optionsObject<MultiKrumOptions>('options', options as MultiKrumOptions | undefined);
  const a = readRobust(updates, matrixCount(updates, opts), opts.out);
  return { args: [a.updates, a.count, byzantineCount(opts.byzantine, a.count, rule), a.out], opts };
}

/** multiKrum's checked binding arguments (updates, count, byzantine, keep, out); keep defaults to K − f. */
function multiKrumArgs(updates: unknown, options: unknown): [Updates, number, number, number, Float32Array] {
  const { args, opts } = krumArgs(updates, options, 'krum');
  const [u, count, byzantine, out] = args;
  if (opts.keep === undefined) return [u, count, byzantine, count - byzantine, out];
  const keep = positiveInteger('options.keep', opts.keep);
  if (keep > count - byzantine) {
    throw invalidArgument('options.keep', `at most updates.length − byzantine (${count - byzantine})`, keep);
  }
  return [u, count, byzantine, keep, out];
}

/**
 * Krum (Blanchard et al., "Machine Learning with Adversaries: Byzantine Tolerant Gradient Descent",
 * NeurIPS 2017): the update whose K − f − 2 nearest others are closest (sum of squared L2 distances,
 * float64), copied into out; ties go to the lower index. Tolerates f Byzantine updates when
 * K > 2f + 2; costs O(K²·D). Unweighted. A NaN/Inf update is refused (ERR_DPFL_NON_FINITE).
 * The native core runs it as multi-Krum with keep = 1.
 */
export function krum(updates: Updates, options: KrumOptions): Float32Array {
  const [u, count, byzantine, out] = krumArgs(updates, options, 'krum').args;
  return binding.multiKrum(u, count, byzantine, 1, out);
}

/** krum off the JavaScript thread; buffers as in coordinateMedianAsync (untouched until it settles). */
export async function krumAsync(updates: Updates, options: KrumOptions): Promise<Float32Array> {
  const [u, count, byzantine, out] = krumArgs(updates, options, 'krum').args;
  return binding.multiKrumAsync(u, count, byzantine, 1, out);
}

/**
 * Multi-Krum (Blanchard et al., NeurIPS 2017): the mean (float64, rounded once) of the `keep` updates
 * with the smallest Krum scores. Needs K > 2f + 2 and 1 ≤ keep ≤ K − f; keep = 1 is Krum.
 */
export function multiKrum(updates: Updates, options: MultiKrumOptions): Float32Array {
  return binding.multiKrum(...multiKrumArgs(updates, options));
}

/** multiKrum off the JavaScript thread; buffers as in coordinateMedianAsync (untouched until it settles). */
export async function multiKrumAsync(updates: Updates, options: MultiKrumOptions): Promise<Float32Array> {
  return binding.multiKrumAsync(...multiKrumArgs(updates, options));
}

/**
 * Bulyan (El Mhamdi, Guerraoui and Rouault, "The Hidden Vulnerability of Distributed Learning in
 * Byzantium", ICML 2018): select θ = K − 2f updates by iterated Krum, then for each coordinate
 * average the β = θ − 2f selected values closest to their median. Needs K ≥ 4f + 3; costs O(K²·D)
 * for the distances plus O(K²) per selection round.
 */
export function bulyan(updates: Updates, options: KrumOptions): Float32Array {
  return binding.bulyan(...krumArgs(updates, options, 'bulyan').args);
}

/**
 * bulyan off the JavaScript thread. Do not modify the updates or out until it settles.
 * Buffers (README, "Buffers and async kernels"): as coordinateMedianAsync.
 */
export async function bulyanAsync(updates: Updates, options: KrumOptions): Promise<Float32Array> {
  return binding.bulyanAsync(...krumArgs(updates, options, 'bulyan').args);
}

function uint32Array(name: string, value: unknown): Uint32Array {
  return typedArray(name, value, 'Uint32Array', true);
}

/**
 * Fixed-point quantisation into Z_{2^32}: out[i] = round(x[i] · scale) mod 2^32 (round half to
 * even, two's complement). Refuses, without writing, an x[i] that is NaN/Inf or has
 * |round(x[i] · scale)| ≥ 2^31: clip first and choose scale so that K clients' values still sum below 2^31.
 */
export function quantizeFixed(x: Float32Array, scale: number, options?: { out?: Uint32Array }): Uint32Array {
  const v = float32Array('x', x);
  const s = positiveFinite('scale', scale);
  const opts = optionsObject('options', options);
  const out = opts.out === undefined ? new Uint32Array(v.length) : uint32Array('options.out', opts.out);
  if (out.length !== v.length) throw invalidArgument('options.out.length', `${v.length}`, out.length);
  return binding.quantizeFixed(v, s, out);
}

/** out[i] = int32(q[i]) / scale: the inverse of quantizeFixed for a sum that did not overflow. */
export function dequantizeFixed(q: Uint32Array, scale: number, options?: { out?: Float32Array }): Float32Array {
  const v = uint32Array('q', q);
  const s = positiveFinite('scale', scale);
  const opts = optionsObject('options', options);
  return binding.dequantizeFixed(v, s, outputArray('options.out', opts.out, v.length));
}

/**
 * Adds (or with subtract, removes) the pseudorandom mask expanded from a 256-bit seed, in place,
 * modulo 2^32: word i is word i mod 16 of ChaCha20 (RFC 8439) block i / 16 under (key, stream).
 */
export function applyMask(
  x: Uint32Array,
  key: Uint32Array,
  options?: { stream?: bigint | number; subtract?: boolean },
): Uint32Array {
  const v = uint32Array('x', x);
  const k = uint32Array('key', key);
  if (k.length !== 8) throw invalidArgument('key.length', '8 (a 256-bit seed)', k.length);
  const opts = optionsObject('options', options);
  const raw = opts.stream ?? 0n;
  let stream: bigint;
  if (typeof raw === 'bigint') {
    if (raw < 0n || raw >= 1n << 64n) throw invalidArgument('options.stream', 'in [0, 2^64)', raw);
    stream = raw;
  } else {
    stream = BigInt(nonNegativeInteger('options.stream', raw));
  }
  const subtract = booleanValue('options.subtract', opts.subtract ?? false);
  return binding.applyMask(v, k, stream, subtract);
}

/** out[i] = Σ_k vectors[k][i] mod 2^32 (out may be vectors[0], no other vector). */
export function sumMod(vectors: Uint32Array[], options?: { out?: Uint32Array }): Uint32Array {
  if (!Array.isArray(vectors)) throw invalidType('vectors', 'an array of Uint32Array', vectors);
  if (vectors.length === 0) throw invalidArgument('vectors.length', 'positive', 0);
  const n = uint32Array('vectors[0]', vectors[0]).length;
  vectors.forEach((v, k) => {
    if (uint32Array(`vectors[${k}]`, v).length !== n)
      throw invalidArgument(`vectors[${k}].length`, `${n} like vectors[0]`, v.length);
  });
  const opts = optionsObject('options', options);
  const out = opts.out === undefined ? new Uint32Array(n) : uint32Array('options.out', opts.out);
  if (out.length !== n) throw invalidArgument('options.out.length', `${n}`, out.length);
  vectors.forEach((v, k) => {
    if (k > 0 && v === out)
      throw invalidArgument(`vectors[${k}]`, 'a different array from options.out (only vectors[0] may be out)', v);
  });
  return binding.sumMod(vectors, out);
}
