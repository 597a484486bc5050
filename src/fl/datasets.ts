// `dpfl federate`'s datasets: the registry of src/data with federate's defaults, wrapped for the FL
// loops with each example's owner (spam: sender domain; synthetic: writer). MNIST has no natural
// owners, so its 'natural' partition is refused.
import { loadDataset, type DatasetName } from '../data/registry.js';
import { fromDataset, type LabelledData } from './data.js';

export interface FlDatasetOptions {
  seed?: number;
  /** Synthetic only: number of examples. Default 6000. */
  examples?: number;
  /** A directory whose node_modules holds the optional dataset packages. */
  from?: string;
  /** spam only: 'dense' (2048 normalised hashed buckets, default) or 'bags' (for the text model). */
  representation?: 'dense' | 'bags';
}

export async function loadFlDataset(name: DatasetName, options: FlDatasetOptions = {}): Promise<LabelledData> {
  const from = options.from !== undefined ? { from: options.from } : {};
  const size = options.examples ?? 6000;
  // spam, dense: 2048 buckets keep softmax regression small. Bags: 2^14 buckets (not train's 2^18):
  // with 64-wide embeddings that is ~1M parameters per update, which every client sends and the
  // server aggregates every round.
  const spam =
    options.representation === 'bags' ? { representation: 'bags' as const, buckets: 2 ** 14 } : { representation: 'dense' as const };
  const { dataset, owners } =
    name === 'synthetic'
      ? loadDataset(name, { size, writers: Math.max(10, Math.round(size / 50)), seed: options.seed ?? 1 })
      : loadDataset(name, name === 'spam' ? { ...spam, ...from } : from);
  return fromDataset(dataset, owners);
}
