// The built-in models: softmax regression, an MLP, and a hashed-n-gram text classifier.
import { Act, Dense, EmbeddingBag, type BagCombiner, type Layer } from './layers.js';
import { Sequential } from './sequential.js';
import { invalidArgument, invalidType } from '../errors.js';
import { positiveInteger } from '../validate.js';

export type ModelKind = 'linear' | 'mlp' | 'text' | 'embedding-bag';

/** Everything needed to rebuild a model's shape (saved in checkpoints). */
export interface ModelSpec {
  kind: ModelKind;
  /** dense: feature dimension; bags: number of hashed feature rows. */
  inputDim: number;
  input: 'dense' | 'bags';
  classes: number;
  /**
   * mlp: hidden widths (default [512, 256]); text: [embedding width, hidden] (default [64, 64]);
   * embedding-bag: [embedding width] (default [64]).
   */
  hidden?: number[];
  activation?: 'relu' | 'tanh';
  /** bags input: how a bag without weights combines its rows (default 'mean'). */
  combiner?: BagCombiner;
}

/** Builds a model from its spec, parameters initialised from seed. */
export function createModel(spec: ModelSpec, seed = 0): Sequential {
  if (typeof spec !== 'object' || spec === null) throw invalidType('spec', 'a model spec object', spec);
  if (!Number.isSafeInteger(seed)) throw invalidArgument('seed', 'a safe integer', seed);
  const inputDim = positiveInteger('spec.inputDim', spec.inputDim);
  const classes = positiveInteger('spec.classes', spec.classes);
  if (classes < 2) throw invalidArgument('spec.classes', 'at least 2', classes);
  if (spec.input !== 'dense' && spec.input !== 'bags')
    throw invalidArgument('spec.input', '"dense" or "bags"', spec.input);
  const act = spec.activation ?? 'relu';
  if (act !== 'relu' && act !== 'tanh') throw invalidArgument('spec.activation', '"relu" or "tanh"', act);
  if (spec.hidden !== undefined && !Array.isArray(spec.hidden)) {
    throw invalidType('spec.hidden', 'an array of positive integers', spec.hidden);
  }
  const hidden = spec.hidden?.map((h, i) => positiveInteger(`spec.hidden[${i}]`, h));
  const combiner = spec.combiner ?? 'mean';
  if (combiner !== 'mean' && combiner !== 'sqrtn' && combiner !== 'sum')
    throw invalidArgument('spec.combiner', '"mean", "sqrtn" or "sum"', combiner);
  const layers: Layer[] = [];
  switch (spec.kind) {
    case 'linear':
      layers.push(
        spec.input === 'dense'
          ? new Dense('linear', inputDim, classes)
          : new EmbeddingBag('linear', inputDim, classes, true, 0, combiner),
      );
      break;
    case 'mlp': {
      const widths = hidden ?? [512, 256];
      let prev = inputDim;
      widths.forEach((w, i) => {
        layers.push(
          i === 0 && spec.input === 'bags'
            ? new EmbeddingBag(`fc${i + 1}`, inputDim, w, true, Math.sqrt(6 / (inputDim + w)), combiner)
            : new Dense(`fc${i + 1}`, prev, w),
          new Act(`${act}${i + 1}`, act, w),
        );
        prev = w;
      });
      layers.push(new Dense(`fc${widths.length + 1}`, prev, classes));
      break;
    }
    case 'text': {
      if (spec.input !== 'bags') throw invalidArgument('spec.input', '"bags" for the text model', spec.input);
      const [emb = 64, h = 64] = hidden ?? [];
      layers.push(
        new EmbeddingBag('embedding', inputDim, emb, false, 0.1, combiner),
        new Dense('fc1', emb, h),
        new Act(act, act, h),
        new Dense('fc2', h, classes),
      );
      break;
    }
    case 'embedding-bag': {
      // An EmbeddingBag then a Linear layer: the shape of PyTorch's nn.EmbeddingBag + nn.Linear, on
      // which Opacus' per-sample gradients are usually measured (bench dpsgd's peer comparison).
      if (spec.input !== 'bags') throw invalidArgument('spec.input', '"bags" for the embedding-bag model', spec.input);
      const [emb = 64] = hidden ?? [];
      layers.push(new EmbeddingBag('embedding', inputDim, emb, false, 0.1, combiner), new Dense('fc', emb, classes));
      break;
    }
    default:
      throw invalidArgument('spec.kind', '"linear", "mlp", "text" or "embedding-bag"', spec.kind);
  }
  return new Sequential(layers, spec.input, classes, seed);
}
