// dpfl/data: datasets (dense rows or bags of tokens) and their natural owners, loaded by name
// (the one registry of dpfl train, federate and audit), batches and splits, synthetic data, the
// optional SpamAssassin and MNIST loaders, text hashing, and the one seeded random generator.
export {
  type Dataset,
  type Owners,
  type Split,
  type SplitOptions,
  gatherBatch,
  splitDataset,
  subset,
  batches,
} from './dataset.js';
export { loadDataset, type DatasetName, type LoadDatasetOptions, type LoadedDataset } from './registry.js';
export { syntheticDense, syntheticBags } from './synthetic.js';
export { loadSpam } from './spam.js';
export { loadMnist } from './mnist.js';
export { tokenize, hashNgrams } from './hashing.js';
export { Random, SecureRandom, seedFromOs, type RandomSource } from './random.js';
