// Aggregation of client updates: thin typed wrappers over the native core.
import { binding, type NativeAggregator } from '../native/binding.js';
import { DeviceArray } from './device.js';
import { weightedSumDevice } from './device-kernels.js';
import { invalidArgument, invalidType } from '../errors.js';
import {
  booleanValue,
  elementCount,
  float32Array,
  nonNegativeFinite,
  optionsObject,
  outOfMemory,
  outputArray,
  positiveInteger,
} from '../validate.js';
import { weightsArray } from './validate.js';

export interface WeightedSumOptions {
  /** Divide by the sum of the weights (a weighted mean). Default false. */
  normalize?: boolean;
  /**
   * Output buffer of length D. It may be one of the updates (e.g. out = updates[0] for an in-place
   * sum): each column tile is read in full before it is written.
   */
  out?: Float32Array;
}

interface SumArgs {
  updates: Float32Array[] | Float32Array;
  weights: Float64Array;
  normalize: boolean;
  out: Float32Array;
}

function readSumArgs(updates: unknown, weights: unknown, options: WeightedSumOptions | undefined): SumArgs {
  const opts = optionsObject('options', options);
  const w = weightsArray(weights);
  if (w.length === 0) throw invalidArgument('weights.length', 'positive', 0);
  const normalize = booleanValue('options.normalize', opts.normalize ?? false);
  if (normalize && !(w.reduce((s, x) => s + x, 0) > 0)) {
    throw invalidArgument('weights', 'of positive sum when options.normalize is true', 0);
  }
  let dim: number;
  if (updates instanceof Float32Array) {
    float32Array('updates', updates);
    if (updates.length % w.length !== 0) {
      throw invalidArgument(
        'updates.length',
        `a multiple of weights.length (${w.length}) for a K x D matrix`,
        updates.length,
      );
    }
    dim = updates.length / w.length;
  } else if (Array.isArray(updates)) {
    if (updates.length !== w.length)
      throw invalidArgument('updates.length', `weights.length (${w.length})`, updates.length);
    const first = float32Array('updates[0]', updates[0]);
    dim = first.length;
    updates.forEach((u, k) => {
      const v = float32Array(`updates[${k}]`, u);
      if (v.length !== dim) throw invalidArgument(`updates[${k}].length`, `${dim} like updates[0]`, v.length);
    });
  } else {
    throw invalidType('updates', 'an array of Float32Array or a K x D Float32Array', updates);
  }
  return {
    updates: updates as Float32Array[] | Float32Array,
    weights: w,
    normalize,
    out: outputArray('options.out', opts.out, dim),
  };
}

/**
 * out = Σ_k weights[k] · updates[k] (÷ Σ weights with normalize), accumulated in float64 in one
 * pass over the updates. updates is K Float32Arrays of length D or one K×D Float32Array. An update
 * holding NaN or Inf is refused with an error naming it.
 */
export function weightedSum(
  updates: Float32Array[] | Float32Array,
  weights: ArrayLike<number>,
  options?: WeightedSumOptions,
): Float32Array;
/** On the GPU: K DeviceArrays of equal length; options.out a DeviceArray. */
export function weightedSum(
  updates: DeviceArray[],
  weights: ArrayLike<number>,
  options?: { normalize?: boolean; out?: DeviceArray },
): DeviceArray;
export function weightedSum(
  updates: Float32Array[] | Float32Array | DeviceArray[],
  weights: ArrayLike<number>,
  options?: WeightedSumOptions | { normalize?: boolean; out?: DeviceArray },
): Float32Array | DeviceArray {
  if (Array.isArray(updates) && updates[0] instanceof DeviceArray) {
    return weightedSumDevice(updates as DeviceArray[], weights, options as { normalize?: boolean; out?: DeviceArray });
  }
  const a = readSumArgs(updates, weights, options as WeightedSumOptions);
  return binding.weightedSum(a.updates, a.weights, a.normalize, a.out);
}

/**
 * weightedSum off the JavaScript thread. Do not modify the updates or out until it settles.
 * Buffers (README, "Buffers and async kernels"): the arrays are copied at the call, unless backed by a
 * SharedArrayBuffer (then used in place, no copy), and the outputs written when the work completes;
 * detaching (transferring) or resizing any of their buffers before then rejects with ERR_DPFL_DETACHED
 * and writes nothing.
 */
export async function weightedSumAsync(
  updates: Float32Array[] | Float32Array,
  weights: ArrayLike<number>,
  options?: WeightedSumOptions,
): Promise<Float32Array> {
  const a = readSumArgs(updates, weights, options);
  return binding.weightedSumAsync(a.updates, a.weights, a.normalize, a.out);
}

/**
 * Streaming weighted sum: updates are folded in one at a time into float64 state of length dim,
 * so memory is O(dim) whatever the number of clients.
 */
export class Aggregator {
  readonly #native: NativeAggregator;

  constructor(dim: number) {
    const d = elementCount('dim', positiveInteger('dim', dim));
    try {
      this.#native = new binding.Aggregator(d);
    } catch (e) {
      // The native side reports a failed allocation of its float64 state as a plain Error.
      if (typeof (e as { code?: unknown }).code === 'string') throw e;
      throw outOfMemory('the Aggregator state', d * 16, e); // float64 state and spare (aggregate.cpp)
    }
  }

  get dim(): number {
    return this.#native.dim;
  }

  /** Number of updates added since construction or the last reset. */
  get count(): number {
    return this.#native.count;
  }

  /** Sum of the weights added. */
  get totalWeight(): number {
    return this.#native.totalWeight;
  }

  /** Adds weight · update. A NaN/Inf update is refused and leaves the state unchanged. */
  add(update: Float32Array, weight = 1): this {
    const u = float32Array('update', update);
    if (u.length !== this.dim) throw invalidArgument('update.length', `the aggregator's dim (${this.dim})`, u.length);
    this.#native.add(u, nonNegativeFinite('weight', weight));
    return this;
  }

  /**
   * Adds several updates at once (Float32Array[] or one K×dim matrix): the same result as K calls
   * of add, in one pass over the float64 state. All or nothing: a NaN/Inf update (named in the
   * error) or a bad weight leaves the state unchanged.
   */
  addMany(updates: Float32Array[] | Float32Array, weights: ArrayLike<number>): this {
    const w = weightsArray(weights);
    if (updates instanceof Float32Array) {
      float32Array('updates', updates);
      if (updates.length !== w.length * this.dim) {
        throw invalidArgument('updates.length', `weights.length × dim (${w.length * this.dim})`, updates.length);
      }
    } else if (Array.isArray(updates)) {
      if (updates.length !== w.length)
        throw invalidArgument('updates.length', `weights.length (${w.length})`, updates.length);
      updates.forEach((u, k) => {
        const v = float32Array(`updates[${k}]`, u);
        if (v.length !== this.dim)
          throw invalidArgument(`updates[${k}].length`, `the aggregator's dim (${this.dim})`, v.length);
      });
    } else {
      throw invalidType('updates', 'an array of Float32Array or a K × dim Float32Array', updates);
    }
    this.#native.addMany(updates, w);
    return this;
  }

  /**
   * The weighted sum so far (divided by totalWeight with normalize). The float64 state always
   * holds a finite sum (addMany refuses what would not), but it can exceed float32: then this
   * throws (code ERR_DPFL_NON_FINITE) and writes nothing to options.out — as weightedSum refuses
   * the same input — instead of returning ±Infinity.
   */
  result(options?: WeightedSumOptions): Float32Array {
    const opts = optionsObject('options', options);
    const normalize = booleanValue('options.normalize', opts.normalize ?? false);
    if (normalize && !(this.totalWeight > 0)) {
      throw invalidArgument(
        'totalWeight',
        'positive to normalize (add an update with a positive weight first)',
        this.totalWeight,
      );
    }
    const out = outputArray('options.out', opts.out, this.dim);
    // The caller's buffer is written only once the result is known to be finite.
    const target = opts.out === undefined ? out : new Float32Array(this.dim);
    // The core refuses a result beyond float32 (after writing target, which is never the caller's
    // out when one is given); name the first coordinate that overflowed.
    try {
      this.#native.result(normalize, target);
    } catch (e) {
      const i = target.findIndex((x) => !Number.isFinite(x));
      if (i < 0) throw e;
      throw invalidArgument(
        `the aggregate (coordinate ${i})`,
        'within float32 range (±3.4e38): lower the weights or the updates',
        target[i],
        'ERR_DPFL_NON_FINITE',
      );
    }
    if (target !== out) out.set(target);
    return out;
  }

  /** Clears the state for the next round. */
  reset(): this {
    this.#native.reset();
    return this;
  }
}
