// Labelled datasets as the FL loops see them: a src/data Dataset with an owner per example.
import { subset as subsetDataset, type Dataset } from '../data/dataset.js';
import { invalidArgument, invalidType } from '../errors.js';
import { finiteNumber, optionsObject } from '../validate.js';
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
