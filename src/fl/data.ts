// Labelled datasets as the FL loops see them, and a seeded synthetic one with a natural grouping.
import { subset as subsetDataset, type Dataset } from '../data/dataset.js';
import { invalidArgument, invalidType } from '../errors.js';
import { elementCount, finiteNumber, optionsObject, positiveFinite, positiveInteger } from '../kernels/validate.js';
import { Random } from '../data/random.js';
import { dataset, labelledData } from './validate.js';

/** n examples of numFeatures float32 features (row-major) and integer labels in [0, numClasses). */
export interface LabelledData {
  name: string;
  features: Float32Array;
  labels: Int32Array;
  numFeatures: number;
  numClasses: number;
  /** A natural owner of each example (mailbox, sender, writer) for the 'natural' partition. */
  groups?: Int32Array;
  /** Names of the groups, when known. */
  groupNames?: string[];
  /**
   * The same examples, in the same order, as a src/data Dataset (dense rows or bags of tokens):
   * what the built-in models of src/models train on. Bags datasets leave `features` empty.
   */
  source?: Dataset;
}

/** Adds a dense src/data view of the same rows (shared, not copied) for the built-in models. */
export function withDenseSource(data: LabelledData): LabelledData {
  labelledData('data', data);
  if (data.features.length !== data.labels.length * data.numFeatures || data.numFeatures === 0) {
    throw invalidArgument('data.features.length', 'labels.length × numFeatures (dense rows)', data.features.length);
  }
  const source: Dataset = {
    name: data.name,
    size: data.labels.length,
    classes: data.numClasses,
    kind: 'dense',
    featureDim: data.numFeatures,
    x: data.features,
    labels: data.labels,
  };
  return { ...data, source };
}

/** Wraps a src/data Dataset (dense or bags) for the FL loops; groups: an owner per example. */
export function fromDataset(ds: Dataset, groups?: { ids: Int32Array; names?: string[] }): LabelledData {
  dataset('ds', ds);
  if (groups !== undefined) {
    const g = optionsObject('groups', groups);
    if (!(g.ids instanceof Int32Array) || g.ids.length !== ds.size) {
      throw invalidType('groups.ids', `an Int32Array of ds.size (${ds.size}) owner ids`, g.ids);
    }
    if (g.names !== undefined && !(Array.isArray(g.names) && g.names.every((n) => typeof n === 'string'))) {
      throw invalidType('groups.names', 'an array of strings', g.names);
    }
  }
  return {
    name: ds.name,
    features: ds.kind === 'dense' ? ds.x! : new Float32Array(0),
    labels: ds.labels,
    numFeatures: ds.featureDim,
    numClasses: ds.classes,
    source: ds,
    ...(groups ? { groups: groups.ids, ...(groups.names ? { groupNames: groups.names } : {}) } : {}),
  };
}

export function size(data: LabelledData): number {
  return data.labels.length;
}

/** The examples at `indices`, copied into a new dataset (for held-out splits). */
export function subset(data: LabelledData, indices: ArrayLike<number>): LabelledData {
  const f = data.numFeatures;
  const source = data.source ? subsetDataset(data.source, Int32Array.from(indices)) : undefined;
  // A dense source already holds the rows: share them instead of copying twice.
  const shared = source?.kind === 'dense' ? source.x! : undefined;
  const dense = shared === undefined && data.features.length > 0;
  const features = shared ?? new Float32Array(dense ? indices.length * f : 0);
  const labels = new Int32Array(indices.length);
  const groups = data.groups ? new Int32Array(indices.length) : undefined;
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    if (dense) features.set(data.features.subarray(i * f, (i + 1) * f), j * f);
    labels[j] = data.labels[i]!;
    if (groups) groups[j] = data.groups![i]!;
  }
  return { ...data, features, labels, ...(groups ? { groups } : {}), ...(source ? { source } : {}) };
}

/** A seeded split into train and held-out test examples. */
export function trainTestSplit(data: LabelledData, testFraction: number, seed: number): { train: LabelledData; test: LabelledData } {
  labelledData('data', data);
  if (!(finiteNumber('testFraction', testFraction) > 0 && testFraction < 1)) {
    throw invalidArgument('testFraction', 'in (0, 1)', testFraction);
  }
  if (!Number.isSafeInteger(seed)) throw invalidType('seed', 'a safe integer', seed);
  const order = Array.from({ length: size(data) }, (_, i) => i);
  new Random(seed).shuffle(order);
  const cut = Math.round(order.length * testFraction);
  return { test: subset(data, order.slice(0, cut)), train: subset(data, order.slice(cut)) };
}

export interface SyntheticOptions {
  examples?: number;
  features?: number;
  classes?: number;
  /** Natural owners ("writers"): each has its own feature shift and label mix. */
  groups?: number;
  /** Distance between class means, in units of the within-class standard deviation. */
  separation?: number;
  seed?: number;
}

/**
 * A Gaussian-mixture classification task with a natural grouping, in the spirit of the
 * "Synthetic(α, β)" data of Li et al. (FedProx, MLSys 2020): class c has mean μ_c ~ N(0, sep²/F·I)
 * (norm ≈ sep); group g has a feature shift δ_g ~ N(0, (sep/2)²/F·I) and a label mix
 * ~ Dirichlet(0.5); an example of group g and class y is μ_y + δ_g + ε with ε ~ N(0, I/F) (norm ≈ 1).
 * Group sizes follow a Zipf-like law (∝ 1/(g+1)^0.8), so activity varies across the natural
 * partition.
 */
export function syntheticData(options: SyntheticOptions = {}): LabelledData {
  const o = optionsObject('options', options);
  const n = o.examples === undefined ? 6000 : positiveInteger('options.examples', o.examples);
  const f = o.features === undefined ? 32 : positiveInteger('options.features', o.features);
  const c = o.classes === undefined ? 4 : positiveInteger('options.classes', o.classes);
  const g = o.groups === undefined ? 100 : positiveInteger('options.groups', o.groups);
  const sep = o.separation === undefined ? 3 : positiveFinite('options.separation', o.separation);
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) {
    throw invalidType('options.seed', 'a safe integer', o.seed);
  }
  // Every buffer below is sized from these: refuse what cannot be allocated before drawing anything.
  elementCount('options.examples × options.features', n, f);
  elementCount('options.groups × options.features', g, f);
  elementCount('options.groups × options.classes', g, c);
  const rng = new Random(o.seed ?? 1);
  const means = Float64Array.from({ length: c * f }, () => (rng.normal() * sep) / Math.sqrt(f));
  const shifts = Float64Array.from({ length: g * f }, () => (rng.normal() * sep * 0.5) / Math.sqrt(f));
  const mixes = Array.from({ length: g }, () => rng.dirichlet(new Float64Array(c).fill(0.5)));
  const zipf = Float64Array.from({ length: g }, (_, i) => 1 / (i + 1) ** 0.8);
  const features = new Float32Array(n * f);
  const labels = new Int32Array(n);
  const groups = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const owner = rng.categorical(zipf);
    const y = rng.categorical(mixes[owner]!);
    groups[i] = owner;
    labels[i] = y;
    for (let d = 0; d < f; d++) {
      features[i * f + d] = means[y * f + d]! + shifts[owner * f + d]! + rng.normal() / Math.sqrt(f);
    }
  }
  return {
    name: 'synthetic',
    features,
    labels,
    numFeatures: f,
    numClasses: c,
    groups,
    groupNames: Array.from({ length: g }, (_, i) => `writer-${i}`),
  };
}
