// Per-sample norms and clipping over per-variable blocks (issue 15): frameworks give per-example
// gradients per variable, block k a batchSize x n_k matrix, where the matrix kernels want each
// example's whole row contiguous. The native core reads the blocks in place (clip_and_sum_blocks),
// so no interleaved batchSize x D copy is made.
import { binding } from '../native/binding.js';
import { invalidArgument, invalidType } from '../errors.js';
import {
  float32Array,
  optionsObject,
  outputArray,
  positiveFinite,
  positiveInteger,
  sizedFloat32,
} from '../validate.js';
import { rowLength } from './validate.js';

export interface BlocksNormsOptions {
  /** Output: batchSize norms. */
  out?: Float32Array;
}

export interface ClipAndSumBlocksOptions {
  /** Outputs for the clipped sum, one per block (n_k floats each). */
  out?: Float32Array[];
  /** Output for the per-sample norms before clipping (batchSize floats). */
  norms?: Float32Array;
}

export interface ClipAndSumBlocksResult {
  /** Sum over the batch of the clipped rows, per block (n_k floats each), accumulated in float64. */
  sum: Float32Array[];
  /** L2 norm of each example over all blocks before clipping (NaN/Inf for examples holding NaN/Inf). */
  norms: Float32Array;
  /** Finite examples whose clipping scale was below 1. */
  clipped: number;
  /** Examples holding NaN or Inf in any block: they contribute zero to the sum and are counted here. */
  nonFinite: number;
}

export interface Blocks {
  blocks: Float32Array[];
  batchSize: number;
  /** n_k of each block. */
  widths: number[];
}

/** Per-variable blocks: a non-empty array of attached Float32Arrays, each a multiple of batchSize long. */
export function readBlocks(value: unknown, batchSize: unknown): Blocks {
  if (!Array.isArray(value)) throw invalidType('grads', 'a Float32Array or an array of Float32Array blocks', value);
  if (value.length === 0) throw invalidArgument('grads.length', 'positive (at least one block)', 0);
  const b = positiveInteger('batchSize', batchSize);
  const blocks = value.map((v, k) => float32Array(`grads[${k}]`, v, false));
  const widths = blocks.map((v, k) => rowLength(`grads[${k}]`, v, b));
  if (widths.every((n) => n === 0)) throw invalidArgument('grads', 'blocks of positive total length', 0);
  return { blocks, batchSize: b, widths };
}

/** The L2 norm of each example over all its blocks (float64 internally). */
export function perSampleNormsBlocks(grads: unknown, batchSize: unknown, options?: BlocksNormsOptions): Float32Array {
  const opts = optionsObject('options', options);
  const m = readBlocks(grads, batchSize);
  const norms = outputArray('options.out', opts.out, m.batchSize);
  binding.perSampleNormsBlocks(m.blocks, m.batchSize, norms);
  return norms;
}

interface BlocksClipArgs {
  m: Blocks;
  maxNorm: number;
  out: Float32Array[];
  norms: Float32Array;
}

function readBlocksClipArgs(grads: unknown, batchSize: unknown, maxNorm: unknown, options: unknown): BlocksClipArgs {
  const opts = optionsObject('options', options as ClipAndSumBlocksOptions | undefined);
  for (const key of ['groups', 'maxNorms']) {
    if ((opts as Record<string, unknown>)[key] !== undefined) {
      throw invalidArgument(`options.${key}`, 'absent with blocks (they clip one norm per example)', 'given');
    }
  }
  const m = readBlocks(grads, batchSize);
  const c = positiveFinite('maxNorm', maxNorm);
  let out: Float32Array[];
  if (opts.out === undefined) {
    out = m.widths.map((n) => new Float32Array(n));
  } else {
    if (!Array.isArray(opts.out))
      throw invalidType('options.out', 'an array of Float32Array (one per block)', opts.out);
    if (opts.out.length !== m.blocks.length) {
      throw invalidArgument('options.out.length', `the number of blocks (${m.blocks.length})`, opts.out.length);
    }
    out = opts.out.map((o, k) => sizedFloat32(`options.out[${k}]`, o, m.widths[k]!));
  }
  return { m, maxNorm: c, out, norms: outputArray('options.norms', opts.norms, m.batchSize) };
}

/** clipAndSum over blocks: one norm per example over all blocks, the clipped sum per block. */
export function clipAndSumBlocks(
  grads: unknown,
  batchSize: unknown,
  maxNorm: unknown,
  options: unknown,
): ClipAndSumBlocksResult {
  const a = readBlocksClipArgs(grads, batchSize, maxNorm, options);
  const stats = binding.clipAndSumBlocks(a.m.blocks, a.m.batchSize, a.maxNorm, a.out, a.norms);
  return { sum: a.out, norms: a.norms, clipped: stats.clipped, nonFinite: stats.nonFinite };
}

export async function clipAndSumBlocksAsync(
  grads: unknown,
  batchSize: unknown,
  maxNorm: unknown,
  options: unknown,
): Promise<ClipAndSumBlocksResult> {
  const a = readBlocksClipArgs(grads, batchSize, maxNorm, options);
  const stats = await binding.clipAndSumBlocksAsync(a.m.blocks, a.m.batchSize, a.maxNorm, a.out, a.norms);
  return { sum: a.out, norms: a.norms, clipped: stats.clipped, nonFinite: stats.nonFinite };
}

/**
 * The batchSize x Σn_k matrix the blocks stand for (each example's row contiguous): the copy the
 * block kernels avoid, for the paths that still need one (per-layer clipping, the bench baseline).
 */
export function interleaveBlocks(m: Blocks, out?: Float32Array): Float32Array {
  const dim = m.widths.reduce((a, n) => a + n, 0);
  out ??= new Float32Array(m.batchSize * dim);
  for (let k = 0, offset = 0; k < m.blocks.length; offset += m.widths[k]!, k++) {
    const n = m.widths[k]!;
    const block = m.blocks[k]!;
    for (let i = 0; i < m.batchSize; i++) out.set(block.subarray(i * n, (i + 1) * n), i * dim + offset);
  }
  return out;
}

/** Consecutive views of x with the given lengths (the per-block slices of a flat vector). */
export function splitViews(x: Float32Array, lengths: readonly number[]): Float32Array[] {
  let offset = 0;
  return lengths.map((n) => {
    offset += n;
    return x.subarray(offset - n, offset);
  });
}
