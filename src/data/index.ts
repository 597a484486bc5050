export { type Dataset, gatherBatch, splitDataset, subset, batches } from './dataset.js';
export { syntheticDense, syntheticBags } from './synthetic.js';
export { loadSpam, SPAM_PACKAGE, SPAM_VERSION } from './spam.js';
export { loadMnist, MNIST_PACKAGE, MNIST_VERSION } from './mnist.js';
export { tokenize, hashNgrams, fnv1a } from './hashing.js';
export { Random, seedFromOs } from './random.js';
