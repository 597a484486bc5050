// Synthetic datasets of the models' shapes, for tests and benchmarks: Gaussian class clusters
// (dense) and class-dependent token distributions (bags). Deterministic in the seed.
import type { Dataset } from './dataset.js';
import { Random } from './random.js';
import { invalidArgument } from '../errors.js';
import { elementCount, nonNegativeFinite, nonNegativeInteger, positiveInteger, requiredObject } from '../validate.js';

const INT32_MAX = 2 ** 31 - 1;

function seedOf(value: unknown): number {
  if (value === undefined) return 1;
  if (!Number.isSafeInteger(value)) throw invalidArgument('options.seed', 'a safe integer', value);
  return value as number;
}

export function syntheticDense(options: { size: number; dim: number; classes: number; seed?: number; noise?: number }): Dataset {
  const o = requiredObject('options', options);
  const size = nonNegativeInteger('options.size', o.size);
  const dim = positiveInteger('options.dim', o.dim);
  const classes = positiveInteger('options.classes', o.classes);
  const noise = o.noise === undefined ? 1 : nonNegativeFinite('options.noise', o.noise);
  const rng = new Random(seedOf(o.seed));
  // Both counts are checked before the first allocation.
  const n = elementCount('options.size × options.dim', size, dim);
  const centres = new Float32Array(elementCount('options.classes × options.dim', classes, dim));
  for (let i = 0; i < centres.length; i++) centres[i] = rng.normal();
  const x = new Float32Array(n);
  const labels = new Int32Array(size);
  for (let r = 0; r < size; r++) {
    const c = rng.below(classes);
    labels[r] = c;
    for (let j = 0; j < dim; j++) x[r * dim + j] = (centres[c * dim + j]! + noise * rng.normal()) / Math.sqrt(dim);
  }
  return { name: 'synthetic-dense', size, classes, kind: 'dense', featureDim: dim, x, labels };
}

/** Each class prefers its own slice of rows; tokensPerExample tokens per bag (half class-specific). */
export function syntheticBags(options: { size: number; rows: number; classes: number; tokensPerExample: number; seed?: number }): Dataset {
  const o = requiredObject('options', options);
  const size = nonNegativeInteger('options.size', o.size);
  const rows = positiveInteger('options.rows', o.rows);
  const classes = positiveInteger('options.classes', o.classes);
  const tokensPerExample = nonNegativeInteger('options.tokensPerExample', o.tokensPerExample);
  // Token ids and offsets are Int32Array entries.
  if (rows > INT32_MAX) throw invalidArgument('options.rows', `at most ${INT32_MAX}`, rows);
  const total = elementCount('options.size × options.tokensPerExample', size, tokensPerExample);
  if (total > INT32_MAX) {
    throw invalidArgument('options.size × options.tokensPerExample', `at most ${INT32_MAX}`, total);
  }
  const rng = new Random(seedOf(o.seed));
  const offsets = new Int32Array(size + 1);
  const indices = new Int32Array(size * tokensPerExample);
  const labels = new Int32Array(size);
  const slice = Math.max(1, Math.floor(rows / classes));
  for (let r = 0; r < size; r++) {
    const c = rng.below(classes);
    labels[r] = c;
    for (let t = 0; t < tokensPerExample; t++) {
      indices[r * tokensPerExample + t] = t % 2 === 0 ? c * slice + rng.below(Math.min(slice, 64)) : rng.below(rows);
    }
    offsets[r + 1] = (r + 1) * tokensPerExample;
  }
  return { name: 'synthetic-bags', size, classes, kind: 'bags', featureDim: rows, indices, offsets, labels };
}
