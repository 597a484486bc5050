// Synthetic datasets of the models' shapes, for tests and benchmarks: Gaussian class clusters
// (dense) and class-dependent token distributions (bags). Deterministic in the seed.
import type { Dataset } from './dataset.js';
import { Random } from './random.js';

export function syntheticDense(options: { size: number; dim: number; classes: number; seed?: number; noise?: number }): Dataset {
  const { size, dim, classes } = options;
  const rng = new Random(options.seed ?? 1);
  const centres = new Float32Array(classes * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = rng.normal();
  const noise = options.noise ?? 1;
  const x = new Float32Array(size * dim);
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
  const { size, rows, classes, tokensPerExample } = options;
  const rng = new Random(options.seed ?? 1);
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
