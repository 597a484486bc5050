// Synthetic datasets of the models' shapes, for tests and benchmarks: Gaussian class clusters
// (dense), class-dependent token distributions (bags), and a Gaussian mixture with natural owners
// (writers, for FL's 'natural' partition). Deterministic in the seed.
import type { Dataset, Owners } from './dataset.js';
import { Random } from './random.js';
import { invalidArgument } from '../errors.js';
import {
  elementCount,
  nonNegativeFinite,
  nonNegativeInteger,
  optionsObject,
  positiveFinite,
  positiveInteger,
  requiredObject,
} from '../validate.js';

const INT32_MAX = 2 ** 31 - 1;

function seedOf(value: unknown): number {
  if (value === undefined) return 1;
  if (!Number.isSafeInteger(value)) throw invalidArgument('options.seed', 'a safe integer', value);
  return value as number;
}

export function syntheticDense(options: {
  size: number;
  dim: number;
  classes: number;
  seed?: number;
  noise?: number;
}): Dataset {
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
export function syntheticBags(options: {
  size: number;
  rows: number;
  classes: number;
  tokensPerExample: number;
  seed?: number;
}): Dataset {
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

export interface SyntheticWritersOptions {
  /** Examples. Default 6000. */
  size?: number;
  /** Features. Default 32. */
  dim?: number;
  /** Default 4. */
  classes?: number;
  /** Natural owners ("writers"): each has its own feature shift and label mix. Default 100. */
  writers?: number;
  /** Distance between class means, in units of the within-class standard deviation. Default 3. */
  separation?: number;
  /** Default 1. */
  seed?: number;
}

/**
 * A Gaussian-mixture classification task with natural owners, in the spirit of the
 * "Synthetic(α, β)" data of Li et al. (FedProx, MLSys 2020): class c has mean μ_c ~ N(0, sep²/F·I)
 * (norm ≈ sep); writer g has a feature shift δ_g ~ N(0, (sep/2)²/F·I) and a label mix
 * ~ Dirichlet(0.5); an example of writer g and class y is μ_y + δ_g + ε with ε ~ N(0, I/F)
 * (norm ≈ 1). Writer sizes follow a Zipf-like law (∝ 1/(g+1)^0.8), so activity varies across
 * the natural partition.
 */
export function syntheticWriters(options: SyntheticWritersOptions = {}): { dataset: Dataset; owners: Owners } {
  const o = optionsObject('options', options);
  const n = o.size === undefined ? 6000 : positiveInteger('options.size', o.size);
  const f = o.dim === undefined ? 32 : positiveInteger('options.dim', o.dim);
  const c = o.classes === undefined ? 4 : positiveInteger('options.classes', o.classes);
  const g = o.writers === undefined ? 100 : positiveInteger('options.writers', o.writers);
  const sep = o.separation === undefined ? 3 : positiveFinite('options.separation', o.separation);
  const seed = o.seed === undefined ? 1 : seedOf(o.seed);
  // Every buffer below is sized from these: refuse what cannot be allocated before drawing anything.
  elementCount('options.size × options.dim', n, f);
  elementCount('options.writers × options.dim', g, f);
  elementCount('options.writers × options.classes', g, c);
  const rng = new Random(seed);
  const means = Float64Array.from({ length: c * f }, () => (rng.normal() * sep) / Math.sqrt(f));
  const shifts = Float64Array.from({ length: g * f }, () => (rng.normal() * sep * 0.5) / Math.sqrt(f));
  const mixes = Array.from({ length: g }, () => rng.dirichlet(new Float64Array(c).fill(0.5)));
  const zipf = Float64Array.from({ length: g }, (_, i) => 1 / (i + 1) ** 0.8);
  const x = new Float32Array(n * f);
  const labels = new Int32Array(n);
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const owner = rng.categorical(zipf);
    const y = rng.categorical(mixes[owner]!);
    ids[i] = owner;
    labels[i] = y;
    for (let d = 0; d < f; d++) x[i * f + d] = means[y * f + d]! + shifts[owner * f + d]! + rng.normal() / Math.sqrt(f);
  }
  return {
    dataset: { name: 'synthetic', size: n, classes: c, kind: 'dense', featureDim: f, x, labels },
    owners: { ids, names: Array.from({ length: g }, (_, i) => `writer-${i}`) },
  };
}
