// Gender-swap augmentation for DP training (issue 17 item 5): counterfactual data augmentation (Lu et al.,
// "Gender Bias in Neural Natural Language Processing", 2018; Zhao et al., "Gender Bias in Coreference
// Resolution", NAACL 2018) where the privacy unit stays ONE ORIGINAL EXAMPLE.
//
// Adding each gendered text's swapped twin as an extra, independent example would let one person's message
// contribute two clipped gradients per step (2C) while the accountant charges for one (C): the guarantee
// would silently halve. Here the twin is merged INTO its original as one bag of hashed n-grams: the bag holds
// the original's entries with weight ½·c(n) and the twin's with weight ½·c(n'), c being the model's combiner
// weight (mean 1/n, sqrtn 1/√n, sum 1), so the embedding bag's output is exactly the average of what the
// original and the twin give on their own: φ(x̃) = ½(φ(x) + φ(x')). Row i of the augmented dataset is a
// function of original example i alone, the dataset keeps its size, and the sampler, per-example clipping
// (ghost norms: one row, one norm, scaled to ≤ C) and accountant see one example per original: ε and δ are
// those of the un-augmented run, exactly. Texts without a gendered term keep their bag (weights c(n)).
import { invalidArgument, invalidType } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { hashNgrams, tokenize } from '../data/hashing.js';
import type { BagCombiner } from '../models/layers.js';
import { oneOf, optionsObject, positiveInteger, typedArray } from '../validate.js';
import { genderSwap, hasGenderedTerm } from './gender-swap.js';

export interface GenderSwapBagsOptions {
  /** Hash buckets (the model's embedding rows). */
  buckets: number;
  /** The model's bag combiner (default 'mean'): the weights reproduce it. */
  combiner?: BagCombiner;
  /** n-gram order of the hashed features (default 2: unigrams and bigrams, as the spam dataset). */
  ngrams?: 1 | 2;
  /** Dataset name (default 'gender-swap'). */
  name?: string;
}

/** A bags dataset whose example i is texts[i] merged with its gender-swapped twin (see above), and how many. */
export interface GenderSwapBags {
  dataset: Dataset;
  /** Examples that hold a gendered term and were merged with their twin. */
  augmented: number;
}

function combinerWeight(combiner: BagCombiner, n: number): number {
  return combiner === 'mean' ? 1 / n : combiner === 'sqrtn' ? 1 / Math.sqrt(n) : 1;
}

/**
 * Hashed bags of `texts` (hashNgrams(tokenize(text))) with each gendered text merged with its genderSwap twin
 * as one example of the same label (weights ½·c(n) and ½·c(n'); see the file comment for the accounting).
 */
export function genderSwapBags(texts: string[], labels: Int32Array, options: GenderSwapBagsOptions): GenderSwapBags {
  if (!Array.isArray(texts)) throw invalidType('texts', 'an array of strings', texts);
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw invalidType(`texts[${i}]`, 'a string', t);
  });
  typedArray('labels', labels, 'Int32Array');
  if (labels.length !== texts.length)
    throw invalidArgument('labels.length', `texts.length (${texts.length})`, labels.length);
  const o = optionsObject('options', options);
  const buckets = positiveInteger('options.buckets', o.buckets);
  const combiner = oneOf('options.combiner', o.combiner, ['mean', 'sqrtn', 'sum'] as const, 'mean');
  const ngrams = o.ngrams ?? 2;
  if (ngrams !== 1 && ngrams !== 2) throw invalidArgument('options.ngrams', '1 or 2', ngrams);
  let classes = 2;
  for (const y of labels) {
    if (y < 0) throw invalidArgument('labels', 'non-negative class ids', y);
    classes = Math.max(classes, y + 1);
  }
  const n = texts.length;
  const offsets = new Int32Array(n + 1);
  const bags: number[][] = [];
  const weights: number[][] = [];
  let augmented = 0;
  texts.forEach((text, i) => {
    const own = hashNgrams(tokenize(text), buckets, ngrams);
    const twin = hasGenderedTerm(text) ? hashNgrams(tokenize(genderSwap(text)), buckets, ngrams) : null;
    if (twin === null || twin.length === 0 || own.length === 0) {
      bags.push(own);
      weights.push(own.map(() => combinerWeight(combiner, own.length)));
    } else {
      augmented++;
      const a = 0.5 * combinerWeight(combiner, own.length);
      const b = 0.5 * combinerWeight(combiner, twin.length);
      bags.push([...own, ...twin]);
      weights.push([...own.map(() => a), ...twin.map(() => b)]);
    }
    offsets[i + 1] = offsets[i]! + bags[i]!.length;
  });
  const indices = new Int32Array(offsets[n]!);
  const w = new Float32Array(offsets[n]!);
  bags.forEach((bag, i) => {
    indices.set(bag, offsets[i]!);
    w.set(weights[i]!, offsets[i]!);
  });
  const name = o.name ?? 'gender-swap';
  const dataset: Dataset = {
    name,
    size: n,
    classes,
    kind: 'bags',
    featureDim: buckets,
    indices,
    offsets,
    weights: w,
    labels: Int32Array.from(labels),
  };
  return { dataset, augmented };
}
