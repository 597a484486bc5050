// Per-sample gradient clipping: thin typed wrappers over the native core.
import { binding } from '../native/binding.js';
import { DeviceArray } from './device.js';
import { clipAndSumDevice, clipByNormDevice, type DeviceClipOptions, type DeviceClipResult } from './device-kernels.js';
import { float32Array, optionsObject, outputArray, positiveFinite, positiveInteger } from '../validate.js';
import { groupEnds, thresholds, rowLength } from './validate.js';
import {
  clipAndSumBlocks,
  clipAndSumBlocksAsync,
  perSampleNormsBlocks,
  type BlocksNormsOptions,
  type ClipAndSumBlocksOptions,
  type ClipAndSumBlocksResult,
} from './clip-blocks.js';

export type { BlocksNormsOptions, ClipAndSumBlocksOptions, ClipAndSumBlocksResult } from './clip-blocks.js';

export interface PerSampleNormsOptions {
  /** End offsets of the parameter groups (layers) within a row; the last equals the row length. */
  groups?: ArrayLike<number>;
  /** Output: batchSize norms, or batchSize x groups.length group norms when groups is given. */
  out?: Float32Array;
}

export interface ClipAndSumOptions {
  /** End offsets of the parameter groups (layers) within a row; the last equals the row length. */
  groups?: ArrayLike<number>;
  /** One threshold per group (per-layer clipping). Without it every group is clipped to maxNorm. */
  maxNorms?: ArrayLike<number>;
  /** Output for the clipped sum (row length floats). */
  out?: Float32Array;
  /** Output for the per-sample norms before clipping (batchSize floats). */
  norms?: Float32Array;
}

export interface ClipAndSumResult {
  /** Sum over the batch of the clipped rows, accumulated in float64. */
  sum: Float32Array;
  /** L2 norm of each row before clipping (NaN/Inf for rows holding NaN/Inf). */
  norms: Float32Array;
  /** With groups: batchSize x groups norms before clipping, row-major. */
  groupNorms?: Float32Array;
  /** Finite rows whose clipping scale was below 1 (in any group). */
  clipped: number;
  /** Rows holding NaN or Inf: they contribute zero to the sum (dpfl's policy) and are counted here. */
  nonFinite: number;
}

interface Matrix {
  grads: Float32Array;
  batchSize: number;
  dim: number;
  ends: Float64Array | null;
  groupCount: number;
}

function readMatrix(grads: unknown, batchSize: unknown, groups: unknown): Matrix {
  const g = float32Array('grads', grads);
  const b = positiveInteger('batchSize', batchSize);
  const dim = rowLength('grads', g, b);
  const ends = groups === undefined ? null : groupEnds('options.groups', groups, dim);
  return { grads: g, batchSize: b, dim, ends, groupCount: ends?.length ?? 1 };
}

/** L2 norm of each of the batchSize rows of grads (float64 internally). */
export function perSampleNorms(grads: Float32Array, batchSize: number, options?: PerSampleNormsOptions): Float32Array;
/**
 * The same over per-variable blocks (block k: batchSize x n_k, row-major), read in place: the norm
 * of each example's concatenated row, Σ_k of each block's float64 sum of squares.
 */
export function perSampleNorms(grads: Float32Array[], batchSize: number, options?: BlocksNormsOptions): Float32Array;
export function perSampleNorms(
  grads: Float32Array | Float32Array[],
  batchSize: number,
  options?: PerSampleNormsOptions | BlocksNormsOptions,
): Float32Array {
  if (Array.isArray(grads)) return perSampleNormsBlocks(grads, batchSize, options);
  const opts = optionsObject('options', options as PerSampleNormsOptions | undefined);
  const m = readMatrix(grads, batchSize, opts.groups);
  if (m.ends === null) {
    const norms = outputArray('options.out', opts.out, m.batchSize);
    binding.perSampleNorms(m.grads, m.batchSize, null, norms, null);
    return norms;
  }
  const groupNorms = outputArray('options.out', opts.out, m.batchSize * m.groupCount);
  binding.perSampleNorms(m.grads, m.batchSize, m.ends, new Float32Array(m.batchSize), groupNorms);
  return groupNorms;
}

interface ClipArgs {
  m: Matrix;
  maxNorms: Float64Array;
  out: Float32Array;
  norms: Float32Array;
  groupNorms: Float32Array | null;
}

function readClipArgs(
  grads: unknown,
  batchSize: unknown,
  maxNorm: unknown,
  options: ClipAndSumOptions | undefined,
): ClipArgs {
  const opts = optionsObject('options', options);
  const m = readMatrix(grads, batchSize, opts.groups);
  const maxNorms = thresholds(maxNorm, opts.maxNorms, m.ends, m.groupCount);
  return {
    m,
    maxNorms,
    out: outputArray('options.out', opts.out, m.dim),
    norms: outputArray('options.norms', opts.norms, m.batchSize),
    groupNorms: m.ends === null ? null : new Float32Array(m.batchSize * m.groupCount),
  };
}

function toResult(a: ClipArgs, stats: { clipped: number; nonFinite: number }): ClipAndSumResult {
  const result: ClipAndSumResult = { sum: a.out, norms: a.norms, clipped: stats.clipped, nonFinite: stats.nonFinite };
  if (a.groupNorms !== null) result.groupNorms = a.groupNorms;
  return result;
}

/**
 * Clips each per-sample gradient (row of the batchSize x D matrix grads) to L2 norm maxNorm with
 * scale min(1, C / (norm + 1e-6)) — per group when options.groups is given — and sums the clipped
 * rows in float64. Rows holding NaN or Inf contribute zero and are counted in nonFinite.
 */
export function clipAndSum(
  grads: Float32Array,
  batchSize: number,
  maxNorm: number,
  options?: ClipAndSumOptions,
): ClipAndSumResult;
/**
 * The same flat clipping over per-variable blocks (block k: batchSize x n_k, row-major), read in
 * place without an interleaved copy: one norm per example over all its blocks, the same scale and
 * NaN/Inf policy, the clipped sum returned per block (n_k floats each, or written into options.out).
 */
export function clipAndSum(
  grads: Float32Array[],
  batchSize: number,
  maxNorm: number,
  options?: ClipAndSumBlocksOptions,
): ClipAndSumBlocksResult;
/** On the GPU: grads, the outputs and the result live in device memory (see DeviceArray). */
export function clipAndSum(
  grads: DeviceArray,
  batchSize: number,
  maxNorm: number,
  options?: DeviceClipOptions,
): DeviceClipResult;
export function clipAndSum(
  grads: Float32Array | Float32Array[] | DeviceArray,
  batchSize: number,
  maxNorm: number,
  options?: ClipAndSumOptions | ClipAndSumBlocksOptions | DeviceClipOptions,
): ClipAndSumResult | ClipAndSumBlocksResult | DeviceClipResult {
  if (Array.isArray(grads)) return clipAndSumBlocks(grads, batchSize, maxNorm, options);
  if (grads instanceof DeviceArray) return clipAndSumDevice(grads, batchSize, maxNorm, options as DeviceClipOptions);
  const a = readClipArgs(grads, batchSize, maxNorm, options as ClipAndSumOptions);
  const stats = binding.clipAndSum(a.m.grads, a.m.batchSize, a.m.ends, a.maxNorms, a.out, a.norms, a.groupNorms);
  return toResult(a, stats);
}

/**
 * clipAndSum off the JavaScript thread. Do not modify grads or the outputs until it settles.
 * Buffers (README, "Buffers and async kernels"): the arrays are copied at the call, unless backed by a
 * SharedArrayBuffer (then used in place, no copy), and the outputs written when the work completes;
 * detaching (transferring) or resizing any of their buffers before then rejects with ERR_DPFL_DETACHED
 * and writes nothing.
 */
export async function clipAndSumAsync(
  grads: Float32Array,
  batchSize: number,
  maxNorm: number,
  options?: ClipAndSumOptions,
): Promise<ClipAndSumResult>;
/** clipAndSumAsync over per-variable blocks (see clipAndSum); the same buffer rules for every block. */
export async function clipAndSumAsync(
  grads: Float32Array[],
  batchSize: number,
  maxNorm: number,
  options?: ClipAndSumBlocksOptions,
): Promise<ClipAndSumBlocksResult>;
export async function clipAndSumAsync(
  grads: Float32Array | Float32Array[],
  batchSize: number,
  maxNorm: number,
  options?: ClipAndSumOptions | ClipAndSumBlocksOptions,
): Promise<ClipAndSumResult | ClipAndSumBlocksResult> {
  if (Array.isArray(grads)) return clipAndSumBlocksAsync(grads, batchSize, maxNorm, options);
  const a = readClipArgs(grads, batchSize, maxNorm, options as ClipAndSumOptions | undefined);
  const stats = await binding.clipAndSumAsync(
    a.m.grads,
    a.m.batchSize,
    a.m.ends,
    a.maxNorms,
    a.out,
    a.norms,
    a.groupNorms,
  );
  return toResult(a, stats);
}

/**
 * Scales x in place to L2 norm at most maxNorm (scale min(1, C / (norm + 1e-6))). Refuses x holding
 * NaN or Inf without modifying it. Returns the norm before clipping and the scale applied.
 */
export function clipByNorm(x: Float32Array | DeviceArray, maxNorm: number): { norm: number; scale: number } {
  if (x instanceof DeviceArray) return clipByNormDevice(x, maxNorm);
  const v = float32Array('x', x);
  const c = positiveFinite('maxNorm', maxNorm);
  return binding.clipByNorm(v, c);
}
