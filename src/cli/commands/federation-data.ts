// The data and model of a federation, as `dpfl federate` simulates it and as `dpfl join` clients
// (one process each) rebuild it: the same flags give every process the same dataset, split and
// partition (all seeded), so client k of a networked run holds exactly the examples simulated
// client k holds, and the same BuiltinModel.
import { type Dataset, type Owners, splitDataset } from '../../data/dataset.js';
import { loadDataset, type LoadDatasetOptions } from '../../data/registry.js';
import { BuiltinModel } from '../../fl/builtin-model.js';
import { type Partition, type PartitionKind, partitionData } from '../../fl/partition.js';
import { stringOptions } from '../command.js';
import { optionParser } from '../options.js';

/** The flags that fix the data and the model (parseArgs declarations; --validation is a flag). */
export const FEDERATION_DATA_OPTIONS = stringOptions(
  'dataset',
  'model',
  'partition',
  'alpha',
  'beta',
  'clients',
  'seed',
  'data-seed',
  'examples',
  'data-dir',
);

export type FederationDataFlags = { [K in keyof typeof FEDERATION_DATA_OPTIONS]?: string } & { validation?: boolean };

export interface FederationData {
  data: Dataset;
  train: Dataset;
  test: Dataset;
  partition: Partition;
  model: BuiltinModel;
  modelKind: 'linear' | 'mlp' | 'text';
  /** The run seed (--seed): split, partition, model initialisation and, in simulate, everything else. */
  seed: number;
  /** Spam with the linear model: federate's tuned local-training defaults apply. */
  tuned: boolean;
  /** The natural owner of each train and test example (datasets that have owners; fairness by activity). */
  owners?: { train: Owners; test: Owners };
}

const { fail, choice: oneOf, integer, positive } = optionParser('math');

/**
 * federate's datasets, as train's defaults live with train: synthetic data with natural writers
 * (6000 examples, one writer per 50), spam as 2048 dense buckets or, for the bags models, 2^14
 * buckets (not train's 2^18: with 64-wide embeddings that is ~1M parameters per update, which
 * every client sends and the server aggregates every round). MNIST has no natural owners.
 */
export function federateDatasetOptions(
  name: 'synthetic' | 'spam' | 'mnist',
  o: { dataSeed: number; bags: boolean; from?: string; examples?: number },
): LoadDatasetOptions {
  const from = o.from !== undefined ? { from: o.from } : {};
  if (name === 'synthetic') {
    const size = o.examples ?? 6000;
    return { size, writers: Math.max(10, Math.round(size / 50)), seed: o.dataSeed };
  }
  if (name === 'mnist') return from;
  return { ...(o.bags ? { representation: 'bags', buckets: 2 ** 14 } : { representation: 'dense' }), ...from };
}

/** Loads, splits and partitions the dataset the flags name, and builds the model (flag errors name the flag). */
export function federationData(values: FederationDataFlags): FederationData {
  const seed = integer('seed', values.seed, 1, 0);
  const datasetName = oneOf('dataset', values.dataset, ['synthetic', 'spam', 'mnist'] as const, 'synthetic');
  // softmax: the old name of the linear model (the TypeScript softmax regression it named is retired from the CLI).
  const modelName = oneOf('model', values.model, ['softmax', 'linear', 'mlp', 'text'] as const, 'linear');
  const modelKind = modelName === 'softmax' ? 'linear' : modelName;
  // On spam the linear and text models read bags of hashed n-grams (2^14 buckets) through a
  // sqrt(n) combiner, as dpfl train does; elsewhere the linear and mlp models read dense rows.
  // Local training and server-lr defaults on spam, chosen on --validation (docs/fl.md, "Comparison").
  const bags = datasetName === 'spam' && modelKind !== 'mlp';
  const tuned = bags && modelKind === 'linear'; // the text model was not tuned: generic defaults
  if (modelKind === 'text' && datasetName !== 'spam')
    fail('model', '"text" only with --dataset spam (bags of tokens)', modelKind);
  // The synthetic data are fixed by --data-seed (default 1), so --seed varies only the run.
  const dataSeed = integer('data-seed', values['data-seed'], 1, 0);
  const { dataset: data, owners } = loadDataset(
    datasetName,
    federateDatasetOptions(datasetName, {
      dataSeed,
      bags,
      ...(values['data-dir'] ? { from: values['data-dir'] } : {}),
      ...(values.examples ? { examples: integer('examples', values.examples, 6000, 100) } : {}),
    }),
  );
  // Each side in the permutation's order: the partitions deal examples by position.
  const split = splitDataset(data, 0.2, seed, { order: 'shuffled', ...(owners ? { owners } : {}) });
  // --validation: for tuning, evaluate on 20% of the training examples (the clients train on the
  // other 80%) so that the held-out test split is never looked at.
  const {
    train,
    test,
    owners: trainOwners,
  } = values.validation
    ? splitDataset(split.train, 0.2, seed, { order: 'shuffled', ...(owners ? { owners: split.owners!.train } : {}) })
    : split;
  const kind = oneOf<PartitionKind>('partition', values.partition, ['iid', 'label', 'quantity', 'natural'], 'label');
  if (kind === 'natural' && !trainOwners) {
    fail('partition', `'natural' only for a dataset with owners (${data.name} has none)`, kind);
  }
  const partition = partitionData(train, {
    kind,
    clients: integer('clients', values.clients, 100, 1),
    alpha: positive('alpha', values.alpha, 0.5),
    beta: positive('beta', values.beta, 0.5),
    seed,
    ...(trainOwners ? { owners: trainOwners.train } : {}),
  });
  // The built-in models of src/models (native layers); the text model on bags of hashed n-grams.
  const model = new BuiltinModel(
    bags
      ? { kind: modelKind, inputDim: data.featureDim, input: 'bags', classes: data.classes, combiner: 'sqrtn' }
      : { kind: modelKind, inputDim: data.featureDim, input: 'dense', classes: data.classes },
    seed,
  );
  return {
    data,
    train,
    test,
    partition,
    model,
    modelKind,
    seed,
    tuned,
    ...(trainOwners ? { owners: trainOwners } : {}),
  };
}
