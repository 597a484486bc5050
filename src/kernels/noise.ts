// Gaussian noise added in place: thin typed wrappers over the native core.
import { binding } from '../native/binding.js';
import { DeviceArray } from './device.js';
import { addGaussianNoiseDevice } from './device-kernels.js';
import { readNoiseOptions, type GaussianNoiseOptions } from './noise-options.js';

export type { GaussianNoiseOptions };
import { float32Array } from '../validate.js';

/**
 * Adds N(0, std²) noise to every element of x in place and returns x. x must hold only finite
 * values (checked before anything is written). Without options.seed the secure mode is used.
 */
export function addGaussianNoise(x: Float32Array, std: number, options?: GaussianNoiseOptions): Float32Array;
/** On the GPU, in device memory; the same (seed, stream, offset) gives the same bits as on the CPU. */
export function addGaussianNoise(x: DeviceArray, std: number, options?: GaussianNoiseOptions): DeviceArray;
export function addGaussianNoise(
  x: Float32Array | DeviceArray,
  std: number,
  options?: GaussianNoiseOptions,
): Float32Array | DeviceArray {
  if (x instanceof DeviceArray) return addGaussianNoiseDevice(x, std, options);
  const v = float32Array('x', x, false);
  const a = readNoiseOptions(std, options);
  return binding.addGaussianNoise(v, a.std, a.seed, a.stream, a.offset);
}

/**
 * addGaussianNoise off the JavaScript thread. Do not touch x until it settles.
 * Buffers (README, "Buffers and async kernels"): the arrays are copied at the call, unless backed by a
 * SharedArrayBuffer (then used in place, no copy), and the outputs written when the work completes;
 * detaching (transferring) or resizing any of their buffers before then rejects with ERR_DPFL_DETACHED
 * and writes nothing.
 */
export async function addGaussianNoiseAsync(
  x: Float32Array,
  std: number,
  options?: GaussianNoiseOptions,
): Promise<Float32Array> {
  const v = float32Array('x', x, false);
  const a = readNoiseOptions(std, options);
  return binding.addGaussianNoiseAsync(v, a.std, a.seed, a.stream, a.offset);
}
