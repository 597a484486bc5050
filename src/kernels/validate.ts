// Argument checks of the kernels' own shapes (row-major matrices, parameter groups, clipping thresholds,
// aggregation weights), built on the generic validators of src/validate.ts that every layer uses.
import { invalidArgument } from '../errors.js';
import { nonNegativeFinite, numberArray, positiveFinite } from '../validate.js';

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
export function thresholds(
  maxNorm: unknown,
  maxNormsOption: unknown,
  ends: Float64Array | null,
  groupCount: number,
): Float64Array {
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

/**
 * Refuses a written view whose bytes overlap another written view or a read one (a kernel would
 * see its own writes in its input). Read views may share memory with each other.
 */
export function disjointViews(
  writes: Record<string, ArrayBufferView>,
  reads: Record<string, ArrayBufferView> = {},
): void {
  const w = Object.entries(writes);
  const all = [...w, ...Object.entries(reads)];
  for (let a = 0; a < w.length; a++) {
    const [na, va] = w[a]!;
    for (let b = a + 1; b < all.length; b++) {
      const [nb, vb] = all[b]!;
      if (va.buffer !== vb.buffer) continue;
      if (va.byteOffset < vb.byteOffset + vb.byteLength && vb.byteOffset < va.byteOffset + va.byteLength) {
        throw invalidArgument(na, `memory apart from ${nb}`, va);
      }
    }
  }
}
