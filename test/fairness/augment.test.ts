// Gender-swap augmentation keeps the privacy unit one original example: the merged bag is one row, its embedding
// is the average of the original's and the twin's, its ghost norm is the norm of its one gradient, and after
// clipping its whole contribution is at most C — while the twin as an independent example would add up to 2C.
import { describe, expect, it } from 'vitest';
import { genderSwapBags } from '../../src/fairness/augment.js';
import { genderSwap } from '../../src/fairness/gender-swap.js';
import { gatherBatch, type Dataset } from '../../src/data/dataset.js';
import { hashNgrams, tokenize } from '../../src/data/hashing.js';
import { createModel } from '../../src/models/index.js';
import type { EmbeddingBag } from '../../src/models/layers.js';
import type { Sequential } from '../../src/models/sequential.js';
import { createRun, type RunConfig } from '../../src/dpsgd/run.js';

const ROWS = 211;
const TEXTS = [
  'She sent her brother the invoice today',
  'he wants his money back now',
  'the meeting moved to friday',
  'Dear Sir, your wife won a prize',
  'mother and father called about the boys',
];
const LABELS = Int32Array.from([1, 0, 0, 1, 0]);

function plainBags(texts: string[]): Dataset {
  const bags = texts.map((t) => hashNgrams(tokenize(t), ROWS));
  const offsets = new Int32Array(texts.length + 1);
  bags.forEach((b, i) => {
    offsets[i + 1] = offsets[i]! + b.length;
  });
  const labels = Int32Array.from(texts, (_, i) => LABELS[i % LABELS.length]!);
  const indices = Int32Array.from(bags.flat());
  return { name: 'toy', size: texts.length, classes: 2, kind: 'bags', featureDim: ROWS, indices, offsets, labels };
}

function rowsOf(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** The squared L2 norm of the gradient of the model's last batch scaled by `scale` per example. */
function clippedSumNorm(model: Sequential, scales: Float32Array): number {
  const grad = new Float32Array(model.paramCount);
  model.backwardParams(
    grad,
    model.groups.map(() => scales),
    false,
  );
  let s = 0;
  for (const v of grad) s += v * v;
  return Math.sqrt(s);
}

function ghostNorms(model: Sequential, b: number): Float64Array {
  const g = model.groups.length;
  const sq = new Float64Array(b * g);
  model.ghostSqNorms(sq, new Float64Array(b));
  return Float64Array.from({ length: b }, (_, r) => {
    let s = 0;
    for (let k = 0; k < g; k++) s += sq[r * g + k]!;
    return Math.sqrt(s);
  });
}

describe('genderSwapBags', () => {
  for (const combiner of ['mean', 'sqrtn', 'sum'] as const) {
    it(`merges each gendered text with its twin: the embedding is the average of the two (${combiner})`, () => {
      const { dataset, augmented } = genderSwapBags(TEXTS, LABELS, { buckets: ROWS, combiner });
      expect(dataset.size).toBe(TEXTS.length); // one row per original example
      expect(augmented).toBe(4); // "the meeting moved to friday" has no gendered term
      const model = createModel(
        { kind: 'text', input: 'bags', inputDim: ROWS, classes: 2, hidden: [6, 4], combiner },
        3,
      );
      const layer = model.layers[0] as EmbeddingBag;
      const g = model.groups[0]!;
      const params = model.params.subarray(g.offset, g.offset + g.length);
      const merged = Float32Array.from(
        layer.forward({ kind: 'bags', bags: gatherBatch(dataset, rowsOf(5)).bags! }, 5, params),
      );
      const own = Float32Array.from(
        layer.forward({ kind: 'bags', bags: gatherBatch(plainBags(TEXTS), rowsOf(5)).bags! }, 5, params),
      );
      const twins = layer.forward(
        { kind: 'bags', bags: gatherBatch(plainBags(TEXTS.map(genderSwap)), rowsOf(5)).bags! },
        5,
        params,
      );
      for (let i = 0; i < merged.length; i++) expect(merged[i]).toBeCloseTo((own[i]! + twins[i]!) / 2, 5);
    });
  }

  it('keeps exactly one clipped contribution per original example (ghost norms, batch of one)', () => {
    const { dataset } = genderSwapBags(TEXTS, LABELS, { buckets: ROWS, combiner: 'sqrtn' });
    const model = createModel(
      { kind: 'text', input: 'bags', inputDim: ROWS, classes: 2, hidden: [6, 4], combiner: 'sqrtn' },
      5,
    );
    const C = 1e-3; // below every gradient norm: every example is clipped
    for (let i = 0; i < TEXTS.length; i++) {
      // The merged example alone: one ghost norm, equal to its gradient's norm; clipped, its contribution is C.
      model.forwardBackward(gatherBatch(dataset, Int32Array.of(i)));
      const [norm] = ghostNorms(model, 1);
      expect(clippedSumNorm(model, Float32Array.of(1))).toBeCloseTo(norm!, 4);
      const clipped = clippedSumNorm(model, Float32Array.of(Math.min(1, C / norm!)));
      expect(clipped).toBeLessThanOrEqual(C * (1 + 1e-5));
      expect(clipped).toBeGreaterThan(C * 0.999);
    }
    // The rejected design: original and twin as two examples of the batch, each clipped to C. Their gradients
    // point the same way, so the example's contribution is close to 2C while the accountant charges C.
    const pair = { ...plainBags([TEXTS[0]!, genderSwap(TEXTS[0]!)]), labels: Int32Array.of(1, 1) }; // same label
    model.forwardBackward(gatherBatch(pair, rowsOf(2)));
    const norms = ghostNorms(model, 2);
    const scales = Float32Array.from(norms, (n) => Math.min(1, C / n));
    expect(clippedSumNorm(model, scales)).toBeGreaterThan(1.5 * C);
  });

  it('refuses bad arguments with typed errors', () => {
    expect(() => genderSwapBags('a' as never, LABELS, { buckets: 8 })).toThrow(/texts must be an array of strings/);
    expect(() => genderSwapBags(['a', 2 as never], Int32Array.of(0, 1), { buckets: 8 })).toThrow(/texts\[1\]/);
    expect(() => genderSwapBags(['a'], LABELS, { buckets: 8 })).toThrow(/labels.length must be texts.length \(1\)/);
    expect(() => genderSwapBags(['a'], Int32Array.of(0), { buckets: 0 })).toThrow(/options.buckets/);
    expect(() => genderSwapBags(['a'], Int32Array.of(0), { buckets: 8, combiner: 'max' as never })).toThrow(
      /options.combiner/,
    );
    try {
      genderSwapBags(['a'], Int32Array.of(0), { buckets: -1 });
    } catch (e) {
      expect((e as { code?: string }).code).toBe('ERR_DPFL_INVALID_ARGUMENT');
    }
  });
});

describe('createRun with augment: gender-swap', () => {
  const texts = Array.from({ length: 120 }, (_, i) => `${TEXTS[i % TEXTS.length]} number ${i % 7}`);
  const data = plainBags(texts);
  const config: RunConfig = {
    dataset: 'spam',
    model: 'text',
    epsilon: 3,
    delta: 1e-5,
    epochs: 2,
    batchSize: 16,
    clipping: 'flat',
    maxGradNorm: 1,
    nonPrivate: false,
    seed: 1,
    optimizer: 'sgd',
    lr: 0.1,
    momentum: 0.9,
    maxPhysicalBatch: 64,
    combiner: 'sqrtn',
  };

  it('trains on merged examples with the same size, noise and ε as the plain run; the test side stays plain', () => {
    const plain = createRun(config, data);
    const aug = createRun({ ...config, augment: 'gender-swap' }, data, texts);
    expect(aug.train.size).toBe(plain.train.size);
    expect(aug.noiseMultiplier).toBe(plain.noiseMultiplier);
    expect(aug.totalSteps).toBe(plain.totalSteps);
    expect(aug.train.weights).toBeDefined();
    expect(aug.test.weights).toBeUndefined();
    expect(Array.from(aug.test.indices!)).toEqual(Array.from(plain.test.indices!));
    expect(Array.from(aug.train.labels)).toEqual(Array.from(plain.train.labels));
    aug.trainer.run(aug.totalSteps);
    expect(aug.optimizer.steps).toBe(aug.totalSteps);
  });

  it('refuses augment without texts, and an unknown augmentation', () => {
    expect(() => createRun({ ...config, augment: 'gender-swap' }, data)).toThrow(/texts must be one text per example/);
    expect(() => createRun({ ...config, augment: 'mixup' as never }, data, texts)).toThrow(/config.augment/);
  });
});
