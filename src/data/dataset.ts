// In-memory datasets (dense rows or bags of hashed tokens), batch gathering, and a stable seeded
// train/test split.
import type { Batch } from '../models/batch.js';
import { Random } from './random.js';
import { invalidArgument, invalidType } from '../errors.js';
import {
  elementCount,
  nonNegativeInteger,
  oneOf,
  optionsObject,
  positiveInteger,
  requiredObject,
  stringValue,
  typedArray,
} from '../validate.js';

/** The O(1) checks of a dataset argument: its shape and the lengths of its arrays. */
function checkDataset(ds: unknown): Dataset {
  if (typeof ds !== 'object' || ds === null) throw invalidType('ds', 'a Dataset', ds);
  const d = ds as Dataset;
  const size = nonNegativeInteger('ds.size', d.size);
  const featureDim = positiveInteger('ds.featureDim', d.featureDim);
  if (typedArray('ds.labels', d.labels, 'Int32Array').length !== size) {
    throw invalidArgument('ds.labels.length', `ds.size (${size})`, d.labels.length);
  }
  if (d.kind === 'dense') {
    const n = elementCount('ds.size × ds.featureDim', size, featureDim);
    const x = typedArray('ds.x', d.x, 'Float32Array');
    if (x.length !== n) throw invalidArgument('ds.x.length', `ds.size × ds.featureDim (${n})`, x.length);
  } else if (d.kind === 'bags') {
    typedArray('ds.indices', d.indices, 'Int32Array');
    const offsets = typedArray('ds.offsets', d.offsets, 'Int32Array');
    if (offsets.length !== size + 1) {
      throw invalidArgument('ds.offsets.length', `ds.size + 1 (${size + 1})`, offsets.length);
    }
    if (d.weights !== undefined && typedArray('ds.weights', d.weights, 'Float32Array').length !== d.indices!.length) {
      throw invalidArgument('ds.weights.length', `ds.indices.length (${d.indices!.length})`, d.weights.length);
    }
  } else {
    throw invalidArgument('ds.kind', '"dense" or "bags"', d.kind);
  }
  return d;
}

export interface Dataset {
  readonly name: string;
  readonly size: number;
  readonly classes: number;
  readonly kind: 'dense' | 'bags';
  /** dense: features per row; bags: number of hashed feature rows (the table size). */
  readonly featureDim: number;
  /** dense: size x featureDim. */
  readonly x?: Float32Array;
  /** bags: CSR tokens, example i holds indices[offsets[i] .. offsets[i + 1]). */
  readonly indices?: Int32Array;
  readonly offsets?: Int32Array;
  /**
   * bags, optional: a weight per entry of indices (the embedding bag sums w_t·row_t instead of applying its
   * combiner). Gender-swap augmentation uses it to merge an example with its twin (src/fairness/augment.ts).
   */
  readonly weights?: Float32Array;
  readonly labels: Int32Array;
}

/**
 * A natural owner of each example (a mail's sender domain, a synthetic writer), for FL's
 * 'natural' partition: ids[i] indexes names.
 */
export interface Owners {
  ids: Int32Array;
  names: string[];
}

/** Owners of a dataset of `size` examples: ids an Int32Array of that length indexing names (O(size)). */
export function checkOwners(name: string, value: unknown, size: number): Owners {
  const o = requiredObject(name, value as Owners);
  if (typedArray(`${name}.ids`, o.ids, 'Int32Array').length !== size) {
    throw invalidArgument(`${name}.ids.length`, `the dataset's size (${size})`, o.ids.length);
  }
  if (!Array.isArray(o.names)) throw invalidType(`${name}.names`, 'an array of strings', o.names);
  o.names.forEach((n, i) => stringValue(`${name}.names[${i}]`, n));
  o.ids.forEach((id, i) => {
    if (!(id >= 0 && id < o.names.length)) {
      throw invalidArgument(`${name}.ids[${i}]`, `an index into names [0, ${o.names.length})`, id);
    }
  });
  return o;
}

/** The examples `rows` of ds as a batch (copies: the batch owns its buffers). */
export function gatherBatch(ds: Dataset, rows: Int32Array): Batch {
  checkDataset(ds);
  if (!(rows instanceof Int32Array)) throw invalidType('rows', 'an Int32Array of example indices', rows);
  typedArray('rows', rows, 'Int32Array');
  const b = rows.length;
  for (let r = 0; r < b; r++) {
    if (!(rows[r]! >= 0 && rows[r]! < ds.size))
      throw invalidArgument(`rows[${r}]`, `an example index in [0, ${ds.size})`, rows[r]);
  }
  const labels = new Int32Array(b);
  for (let r = 0; r < b; r++) labels[r] = ds.labels[rows[r]!]!;
  if (ds.kind === 'dense') {
    const d = ds.featureDim;
    const x = new Float32Array(b * d);
    for (let r = 0; r < b; r++) x.set(ds.x!.subarray(rows[r]! * d, (rows[r]! + 1) * d), r * d);
    return { size: b, x, labels };
  }
  const off = ds.offsets!;
  const offsets = new Int32Array(b + 1);
  for (let r = 0; r < b; r++) {
    const i = rows[r]!;
    // Only the offsets of the gathered rows are checked: O(batch), not O(dataset), per call.
    if (!(off[i]! >= 0 && off[i + 1]! >= off[i]! && off[i + 1]! <= ds.indices!.length)) {
      throw invalidArgument(`ds.offsets[${i + 1}]`, `in [ds.offsets[${i}], ds.indices.length]`, off[i + 1]);
    }
    offsets[r + 1] = offsets[r]! + (off[i + 1]! - off[i]!);
  }
  const indices = new Int32Array(offsets[b]!);
  for (let r = 0; r < b; r++) indices.set(ds.indices!.subarray(off[rows[r]!]!, off[rows[r]! + 1]!), offsets[r]!);
  if (ds.weights === undefined) return { size: b, bags: { indices, offsets }, labels };
  const weights = new Float32Array(offsets[b]!);
  for (let r = 0; r < b; r++) weights.set(ds.weights.subarray(off[rows[r]!]!, off[rows[r]! + 1]!), offsets[r]!);
  return { size: b, bags: { indices, offsets, weights }, labels };
}

/** A subset of ds (copied). */
export function subset(ds: Dataset, rows: Int32Array, name?: string): Dataset {
  const batch = gatherBatch(ds, rows);
  if (name !== undefined && typeof name !== 'string') throw invalidType('name', 'a string', name);
  return {
    name: name ?? ds.name,
    size: rows.length,
    classes: ds.classes,
    kind: ds.kind,
    featureDim: ds.featureDim,
    labels: batch.labels,
    ...(batch.x ? { x: batch.x } : {}),
    ...(batch.bags ? { indices: batch.bags.indices, offsets: batch.bags.offsets } : {}),
    ...(batch.bags?.weights ? { weights: batch.bags.weights } : {}),
  };
}

export interface SplitOptions {
  /**
   * 'sorted' (default): each side keeps the dataset's order. 'shuffled': each side in the seeded
   * permutation's order — FL's partitions deal examples by position, so federate's seeded runs
   * read this order.
   */
  order?: 'sorted' | 'shuffled';
  /** The owner of each example (FL's 'natural' partition): split with the examples. */
  owners?: Owners;
}

export interface Split {
  train: Dataset;
  test: Dataset;
  /** With options.owners: the owners of each side's examples, in its order. */
  owners?: { train: Owners; test: Owners };
}

/** The owners of the examples `rows` (ids copied; the names are shared). */
function subsetOwners(owners: Owners, rows: Int32Array): Owners {
  const ids = new Int32Array(rows.length);
  for (let r = 0; r < rows.length; r++) ids[r] = owners.ids[rows[r]!]!;
  return { ids, names: owners.names };
}

/**
 * The example indices of each side of splitDataset(ds, testFraction, seed, { order }) for a dataset of `size`
 * examples (to find, e.g., the texts behind a split's test side). Arguments are checked by splitDataset.
 */
export function splitRows(
  size: number,
  testFraction: number,
  seed: number,
  order: 'sorted' | 'shuffled' = 'sorted',
): { train: Int32Array; test: Int32Array } {
  const perm = new Int32Array(size);
  for (let i = 0; i < size; i++) perm[i] = i;
  new Random(seed).shuffle(perm);
  const nTest = Math.min(size - 1, Math.max(1, Math.round(size * testFraction)));
  const [test, train] = [perm.slice(0, nTest), perm.slice(nTest)];
  if (order === 'sorted') [test, train].forEach((rows) => rows.sort());
  return { train, test };
}

/**
 * A stable split: the same seed and dataset give the same train/test examples on every run. The
 * test side is the first round(size × testFraction) examples of a seeded Fisher–Yates permutation.
 */
export function splitDataset(ds: Dataset, testFraction: number, seed: number, options: SplitOptions = {}): Split {
  checkDataset(ds);
  if (typeof testFraction !== 'number' || !(testFraction > 0 && testFraction < 1))
    throw invalidArgument('testFraction', 'in (0, 1)', testFraction);
  if (ds.size < 2) throw invalidArgument('ds.size', 'at least 2 to split', ds.size);
  if (!Number.isSafeInteger(seed) || seed < 0) throw invalidArgument('seed', 'a non-negative integer', seed);
  const o = optionsObject('options', options);
  const order = oneOf('options.order', o.order, ['sorted', 'shuffled'] as const, 'sorted');
  if (o.owners !== undefined) checkOwners('options.owners', o.owners, ds.size);
  const { test: testRows, train: trainRows } = splitRows(ds.size, testFraction, seed, order);
  return {
    test: subset(ds, testRows, `${ds.name}-test`),
    train: subset(ds, trainRows, `${ds.name}-train`),
    ...(o.owners
      ? { owners: { train: subsetOwners(o.owners, trainRows), test: subsetOwners(o.owners, testRows) } }
      : {}),
  };
}

/** Batches of consecutive examples (evaluation); the arguments are checked before the first batch. */
export function batches(ds: Dataset, size: number): Generator<Batch> {
  checkDataset(ds);
  positiveInteger('size', size);
  return (function* () {
    for (let start = 0; start < ds.size; start += size) {
      const rows = new Int32Array(Math.min(size, ds.size - start));
      for (let i = 0; i < rows.length; i++) rows[i] = start + i;
      yield gatherBatch(ds, rows);
    }
  })();
}
