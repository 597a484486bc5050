// An embedding table for WEAT read from a dpfl model over hashed n-grams (the 'text' kind, or any model whose
// first layer is an EmbeddingBag): a term's vector is what the embedding bag gives a one-term text — the rows
// its hashed unigrams and bigrams select (src/data/hashing.ts, as the spam dataset hashes messages), combined
// by the layer's combiner (mean, sum/√n or sum), bias left out. So WEAT measures the associations the trained
// model's own input representation holds (the intrinsic side of issue 17 item 4). Reads the parameters as they
// are at each call: no native call, no addon (only the types of dpfl/models are imported).
import { hashNgrams, tokenize } from '../data/hashing.js';
import { invalidArgument, invalidType } from '../errors.js';
import type { EmbeddingBag } from '../models/layers.js';
import type { Sequential } from '../models/sequential.js';
import { optionsObject } from '../validate.js';
import type { EmbedFunction } from './weat.js';

export interface TextEmbeddingOptions {
  /** 1: unigrams only; 2 (default): unigrams and bigrams, as the spam dataset hashes text. */
  ngrams?: 1 | 2;
}

type BagLayer = Pick<EmbeddingBag, 'rows' | 'outDim' | 'combiner'>;

/**
 * `embed` for weat() from a model whose first layer is an EmbeddingBag over `rows` hash buckets: the combined
 * rows of a term's hashed n-grams (a fresh Float32Array), or undefined when the term has no word token.
 * Hash collisions are shared rows (as in the model), and rows no training example touched keep their
 * initial values.
 */
export function textModelEmbedding(model: Sequential, options?: TextEmbeddingOptions): EmbedFunction {
  if (typeof model !== 'object' || model === null) throw invalidType('model', 'a dpfl Sequential model', model);
  const opts = optionsObject('options', options);
  const ngrams = opts.ngrams ?? 2;
  if (ngrams !== 1 && ngrams !== 2) throw invalidArgument('options.ngrams', '1 or 2', ngrams);
  const first = (model.layers as unknown[] | undefined)?.[0] as Partial<BagLayer> | undefined;
  const group = model.groups?.[0];
  if (
    model.inputKind !== 'bags' ||
    first === undefined ||
    !Number.isInteger(first.rows) ||
    !Number.isInteger(first.outDim) ||
    group === undefined ||
    group.offset !== 0
  ) {
    throw invalidArgument('model', 'a model whose first layer is an embedding bag (kind "text", bags input)', model);
  }
  const { rows, outDim: dim } = first as BagLayer;
  const combiner = first.combiner ?? 'mean';
  return (term: string): Float32Array | undefined => {
    if (typeof term !== 'string') throw invalidType('term', 'a string', term);
    const ids = hashNgrams(tokenize(term), rows, ngrams);
    if (ids.length === 0) return undefined;
    const table = model.params;
    const sum = new Float64Array(dim);
    for (const id of ids) for (let k = 0; k < dim; k++) sum[k]! += table[id * dim + k]!;
    const scale = combiner === 'mean' ? 1 / ids.length : combiner === 'sqrtn' ? 1 / Math.sqrt(ids.length) : 1;
    return Float32Array.from(sum, (v) => v * scale);
  };
}
