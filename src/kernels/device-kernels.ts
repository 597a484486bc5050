// The kernels on device memory (the CUDA backend): same contracts and checks as the host
// wrappers, arguments and results as DeviceArrays. Mixing host and device arrays is an error.
import { binding } from '../native/binding.js';
import { invalidArgument, invalidType } from '../errors.js';
import { DeviceArray } from './device.js';
import { readNoiseOptions, type GaussianNoiseOptions } from './noise-options.js';
import { booleanValue, optionsObject, positiveFinite, positiveInteger } from '../validate.js';
import { groupEnds, thresholds, weightsArray } from './validate.js';

export interface DeviceClipOptions {
  groups?: ArrayLike<number>;
  maxNorms?: ArrayLike<number>;
  /** Device output for the clipped sum (row length floats). */
  out?: DeviceArray;
  /** Device output for the per-sample norms (batchSize floats). */
  norms?: DeviceArray;
}

export interface DeviceClipResult {
  sum: DeviceArray;
  norms: DeviceArray;
  groupNorms?: DeviceArray;
  clipped: number;
  nonFinite: number;
}

function device(name: string, value: unknown, length?: number): DeviceArray {
  if (!(value instanceof DeviceArray)) {
    throw invalidType(name, 'a DeviceArray (mixing host and device arrays is not supported)', value);
  }
  if (value.freed) throw invalidType(name, 'a DeviceArray that was not freed', value);
  if (length !== undefined && value.length !== length)
    throw invalidArgument(`${name}.length`, `${length}`, value.length);
  return value;
}

function deviceOutput(name: string, value: unknown, length: number): DeviceArray {
  return value === undefined ? new DeviceArray(length) : device(name, value, length);
}

export function clipAndSumDevice(
  grads: DeviceArray,
  batchSize: number,
  maxNorm: number,
  options?: DeviceClipOptions,
): DeviceClipResult {
  const opts = optionsObject('options', options);
  const g = device('grads', grads);
  const b = positiveInteger('batchSize', batchSize);
  if (g.length === 0 || g.length % b !== 0)
    throw invalidArgument('grads.length', `a positive multiple of batchSize (${b})`, g.length);
  const dim = g.length / b;
  const ends = opts.groups === undefined ? null : groupEnds('options.groups', opts.groups, dim);
  const groupCount = ends?.length ?? 1;
  const maxNorms = thresholds(maxNorm, opts.maxNorms, ends, groupCount);
  const sum = deviceOutput('options.out', opts.out, dim);
  const norms = deviceOutput('options.norms', opts.norms, b);
  const groupNorms = ends === null ? null : new DeviceArray(b * groupCount);
  const stats = binding.cudaClipAndSum(
    g.native,
    b,
    ends,
    maxNorms,
    sum.native,
    norms.native,
    groupNorms?.native ?? null,
  );
  const result: DeviceClipResult = { sum, norms, clipped: stats.clipped, nonFinite: stats.nonFinite };
  if (groupNorms !== null) result.groupNorms = groupNorms;
  return result;
}

export function clipByNormDevice(x: DeviceArray, maxNorm: number): { norm: number; scale: number } {
  const v = device('x', x);
  if (v.length === 0) throw invalidArgument('x.length', 'positive', 0);
  return binding.cudaClipByNorm(v.native, positiveFinite('maxNorm', maxNorm));
}

export function addGaussianNoiseDevice(x: DeviceArray, std: number, options?: GaussianNoiseOptions): DeviceArray {
  const v = device('x', x);
  const a = readNoiseOptions(std, options);
  binding.cudaAddGaussianNoise(v.native, a.std, a.seed, a.stream, a.offset);
  return v;
}

export function weightedSumDevice(
  updates: DeviceArray[],
  weights: ArrayLike<number>,
  options?: { normalize?: boolean; out?: DeviceArray },
): DeviceArray {
  const opts = optionsObject('options', options);
  const w = weightsArray(weights);
  if (w.length === 0) throw invalidArgument('weights.length', 'positive', 0);
  if (updates.length !== w.length)
    throw invalidArgument('updates.length', `weights.length (${w.length})`, updates.length);
  const first = device('updates[0]', updates[0]);
  updates.forEach((u, k) => device(`updates[${k}]`, u, first.length));
  const normalize = booleanValue('options.normalize', opts.normalize ?? false);
  if (normalize && !(w.reduce((s, x) => s + x, 0) > 0))
    throw invalidArgument('weights', 'of positive sum when options.normalize is true', 0);
  const out = deviceOutput('options.out', opts.out, first.length);
  binding.cudaWeightedSum(
    updates.map((u) => u.native),
    w,
    normalize,
    out.native,
  );
  return out;
}
