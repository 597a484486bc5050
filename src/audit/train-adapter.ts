// The one place the audit touches dpfl's training stack (src/dpsgd, src/models, src/data): train a
// built-in model on exactly the examples given, privately or not, and read per-example losses and
// logit-scaled confidences back. Everything else in src/audit works on plain arrays.
import { hashNgrams, tokenize } from '../data/hashing.js';
import { batches, subset, type Dataset } from '../data/dataset.js';
import { loadDataset, type DatasetName } from '../data/registry.js';
import { makePrivate } from '../dpsgd/make-private.js';
import type { UpdateRule } from '../dpsgd/optimizer.js';
import { NonPrivateOptimizer } from '../dpsgd/non-private.js';
import { FixedSizeSampler } from '../dpsgd/sampler.js';
import { Trainer } from '../dpsgd/trainer.js';
import { createModel, type ModelKind, type ModelSpec } from '../models/zoo.js';
import type { Sequential } from '../models/sequential.js';
import { invalidArgument } from '../errors.js';

export { Random } from '../data/random.js';
export { subset, type Dataset, type ModelKind };

export type AuditDatasetName = DatasetName;

/**
 * `dpfl audit`'s datasets: the registry's, with a smaller synthetic set than `dpfl train`'s
 * (2000 examples; sparse bags of 16 tokens over 2^16 rows for the linear model too).
 */
export function loadAuditDataset(name: DatasetName, model: ModelKind): Dataset {
  if (name !== 'synthetic') return loadDataset(name).dataset;
  const sparse = model === 'text' || model === 'linear';
  const shape = sparse ? { representation: 'bags' as const, buckets: 65536, tokens: 16 } : {};
  return loadDataset(name, { size: 2000, ...shape }).dataset;
}

/** The hashed unigram and bigram ids of a text, as the spam dataset featurises its messages. */
export function textFeatures(text: string, buckets: number): Int32Array {
  return Int32Array.from(hashNgrams(tokenize(text), buckets));
}

/** A bags dataset holding ds's examples followed by extra ones (token ids and labels). */
export function appendBags(
  ds: Dataset,
  extra: readonly { tokens: Int32Array; label: number }[],
  name = ds.name,
): Dataset {
  if (ds.kind !== 'bags') throw invalidArgument('dataset', 'a bags (text) dataset', ds.kind);
  const size = ds.size + extra.length;
  const offsets = new Int32Array(size + 1);
  offsets.set(ds.offsets!);
  let total = ds.offsets![ds.size]!;
  extra.forEach((e, i) => {
    total += e.tokens.length;
    offsets[ds.size + i + 1] = total;
  });
  const indices = new Int32Array(total);
  indices.set(ds.indices!.subarray(0, ds.offsets![ds.size]!));
  const labels = new Int32Array(size);
  labels.set(ds.labels);
  extra.forEach((e, i) => {
    indices.set(e.tokens, offsets[ds.size + i]!);
    labels[ds.size + i] = e.label;
  });
  return { name, size, classes: ds.classes, kind: 'bags', featureDim: ds.featureDim, indices, offsets, labels };
}

export interface TrainOptions {
  model: ModelKind;
  /** false: the non-private baseline (no clipping, no noise). */
  private: boolean;
  /** Target ε of the whole run at delta (private only). */
  epsilon: number;
  delta: number;
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam';
  lr: number;
  maxGradNorm: number;
  seed: number;
  onStep?: (step: number, total: number) => void;
}

export interface ExampleStats {
  /** Cross-entropy loss of each example under its label. */
  loss: Float64Array;
  /** Logit-scaled confidence log(p_y / (1 − p_y)) (Carlini et al. 2022, §IV-B). */
  confidence: Float64Array;
}

export interface TrainedModel {
  /** The trained network itself (white-box attacks: modiva.ts). */
  model: Sequential;
  steps: number;
  /** σ of the private run (0 for the non-private one). */
  noiseMultiplier: number;
  /** ε spent at delta by the accountant (Infinity for the non-private one). */
  epsilon: number;
  stats(ds: Dataset): ExampleStats;
  accuracy(ds: Dataset): number;
}

function specFor(kind: ModelKind, data: Dataset): ModelSpec {
  const spec: ModelSpec = { kind, inputDim: data.featureDim, input: data.kind, classes: data.classes };
  if (kind === 'mlp') spec.hidden = [64, 32];
  return spec;
}

/** Per-example loss and logit-scaled confidence from the model's logits (float64, log-sum-exp). */
export function exampleStats(model: Sequential, ds: Dataset, batchSize = 1024): ExampleStats {
  const loss = new Float64Array(ds.size);
  const confidence = new Float64Array(ds.size);
  const k = model.classes;
  let row = 0;
  for (const b of batches(ds, batchSize)) {
    const logits = model.forward(b);
    for (let r = 0; r < b.size; r++, row++) {
      const y = b.labels[r]!;
      const zy = logits[r * k + y]!;
      let maxAll = -Infinity;
      let maxOther = -Infinity;
      for (let c = 0; c < k; c++) {
        const z = logits[r * k + c]!;
        if (z > maxAll) maxAll = z;
        if (c !== y && z > maxOther) maxOther = z;
      }
      let sumAll = 0;
      let sumOther = 0;
      for (let c = 0; c < k; c++) {
        const z = logits[r * k + c]!;
        sumAll += Math.exp(z - maxAll);
        if (c !== y) sumOther += Math.exp(z - maxOther);
      }
      loss[row] = maxAll + Math.log(sumAll) - zy;
      confidence[row] = zy - (maxOther + Math.log(sumOther));
    }
  }
  return { loss, confidence };
}

/** Trains a fresh model (initialised from options.seed) on exactly the examples of `data`. */
export function trainModel(data: Dataset, options: TrainOptions): TrainedModel {
  const model = createModel(specFor(options.model, data), options.seed);
  const update: UpdateRule =
    options.optimizer === 'adam' ? { kind: 'adam', lr: options.lr } : { kind: 'sgd', lr: options.lr, momentum: 0.9 };
  const batchSize = Math.min(options.batchSize, data.size);
  let trainer: Trainer;
  let steps: number;
  let noiseMultiplier = 0;
  let spent: () => number = () => Infinity;
  if (options.private) {
    const setup = makePrivate({
      params: model.params,
      groupEnds: model.groupEnds,
      datasetSize: data.size,
      batchSize,
      targetEpsilon: options.epsilon,
      delta: options.delta,
      epochs: options.epochs,
      maxGradNorm: options.maxGradNorm,
      clipping: 'flat',
      update,
      seed: options.seed,
    });
    trainer = new Trainer({ model, data, sampler: setup.sampler, optimizer: setup.optimizer, private: true });
    steps = setup.steps;
    noiseMultiplier = setup.noiseMultiplier;
    spent = () => setup.accountant.epsilon(options.delta);
  } else {
    const sampler = new FixedSizeSampler({ datasetSize: data.size, batchSize, seed: options.seed });
    const optimizer = new NonPrivateOptimizer({ params: model.params, update });
    trainer = new Trainer({ model, data, sampler, optimizer, private: false });
    steps = Math.max(1, Math.round((options.epochs * data.size) / batchSize));
  }
  trainer.run(steps, (r) => options.onStep?.(r.step + 1, steps));
  return {
    model,
    steps,
    noiseMultiplier,
    epsilon: spent(),
    stats: (ds) => exampleStats(model, ds),
    accuracy: (ds) => {
      let correct = 0;
      for (const b of batches(ds, 1024)) {
        const pred = model.predict(b);
        for (let i = 0; i < b.size; i++) if (pred[i] === b.labels[i]) correct++;
      }
      return correct / ds.size;
    },
  };
}
