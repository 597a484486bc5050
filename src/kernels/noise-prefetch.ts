// The two halves of addGaussianNoise, for drawing a step's noise before the step: the unscaled
// float64 samples (on a worker thread), then x + std·z with addGaussianNoise's rounding.
import { binding } from '../native/binding.js';
import { float32Array, typedArray } from '../validate.js';
import { readNoiseOptions, type GaussianNoiseOptions } from './noise-options.js';

/** out[i] = N(offset + i) in float64 (std 1) for the stream of options (secure without a seed). */
export function gaussianNormals(out: Float64Array, options?: GaussianNoiseOptions): Float64Array {
  const v = typedArray('out', out, 'Float64Array');
  const a = readNoiseOptions(1, options);
  return binding.gaussianNormals(v, a.seed, a.stream, a.offset);
}

/**
 * gaussianNormals on a worker thread, without the core's thread pool (so the caller's kernels run
 * beside it). out and done must be backed by SharedArrayBuffers: out is written in place and then
 * done[0] set to 1 (2 on failure), so a caller can see completion with Atomics.load before the
 * promise settles. Do not read out before that.
 */
export function gaussianNormalsAsync(
  out: Float64Array,
  done: Int32Array,
  options?: GaussianNoiseOptions,
): Promise<Float64Array> {
  const v = typedArray('out', out, 'Float64Array');
  const flag = typedArray('done', done, 'Int32Array');
  const a = readNoiseOptions(1, options);
  return binding.gaussianNormalsAsync(v, a.seed, a.stream, a.offset, flag);
}

/**
 * x[i] = fround(x[i] + std·z[i]) in place, returning x: with z from gaussianNormals, the bits
 * addGaussianNoise(x, std, same options) gives. Refuses non-finite x or z, and a std that could
 * overflow float32, before writing anything.
 */
export function addScaledNormals(x: Float32Array, z: Float64Array, std: number): Float32Array {
  const v = float32Array('x', x, false);
  const w = typedArray('z', z, 'Float64Array');
  const s = readNoiseOptions(std, { seed: 0 }).std;
  return binding.addScaledNormals(v, w, s);
}
