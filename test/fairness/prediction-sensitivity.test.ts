// predictionSensitivity: exact values on hand-set linear models (APS = 0 for a task model blind to the feature the
// protected model reads), then trained text models — a task model that learnt a gendered word against one that
// learnt a neutral word, the protected-status model trained by dpfl's Trainer on protectedStatusLabels.
import { describe, expect, it } from 'vitest';
import { isDpflError } from '../../src/errors.js';
import { predictionSensitivity } from '../../src/fairness/prediction-sensitivity.js';
import { protectedStatusLabels } from '../../src/fairness/protected-status.js';
import { createModel, type ModelSpec } from '../../src/models/index.js';
import type { Sequential } from '../../src/models/sequential.js';
import { hashNgrams, tokenize } from '../../src/data/hashing.js';
import type { Dataset } from '../../src/data/dataset.js';
import { Random } from '../../src/data/random.js';
import { FixedSizeSampler, NonPrivateOptimizer, Trainer } from '../../src/dpsgd/index.js';

/** A 2-class linear dense model whose class-1 minus class-0 weight is `delta` per feature (bias 0). */
function linear(delta: number[]): Sequential {
  const d = delta.length;
  const m = createModel({ kind: 'linear', input: 'dense', inputDim: d, classes: 2 }, 0);
  m.params.fill(0);
  delta.forEach((v, j) => {
    m.params[j * 2 + 1] = v; // W is inDim x outDim: W[j][1]
  });
  return m;
}

describe('predictionSensitivity on hand-set linear models', () => {
  const n = 40;
  const rng = new Random(1);
  const x = Float32Array.from({ length: n * 3 }, () => 2 * rng.next() - 1);
  const data: Dataset = {
    name: 'toy',
    size: n,
    classes: 2,
    kind: 'dense',
    featureDim: 3,
    x,
    labels: new Int32Array(n),
  };
  const protectedModel = linear([3, 0, 0]); // reads feature 0 only: w = (1, 0, 0) wherever defined

  it('is p(1-p)·|Δw_0| per example for a task reading feature 0, and exactly 0 for one reading feature 1', () => {
    const onGender = linear([2, 0, 0.5]);
    const r = predictionSensitivity({ task: onGender, protectedModel, data }, { bootstrap: 200, seed: 4 });
    let mean = 0;
    for (let i = 0; i < n; i++) {
      const z = 2 * x[i * 3]! + 0.5 * x[i * 3 + 2]!;
      const p = 1 / (1 + Math.exp(-z));
      expect(r.perExample[i]).toBeCloseTo(p * (1 - p) * 2, 6);
      mean += (p * (1 - p) * 2) / n;
    }
    expect(r.aps).toBeCloseTo(mean, 6);
    expect(r.interval.lower).toBeLessThanOrEqual(r.aps);
    expect(r.interval.upper).toBeGreaterThanOrEqual(r.aps);
    expect(r.interval.resamples).toBe(200);
    expect(r.flatProtected).toBe(0);

    const neutral = predictionSensitivity({ task: linear([0, 2, 0.5]), protectedModel, data }, { bootstrap: 0 });
    expect(neutral.aps).toBe(0);
    expect(neutral.interval.lower).toBeNaN();
  });

  it('fixed featureWeights give the same answer as a protected model with that gradient direction', () => {
    const r1 = predictionSensitivity({ task: linear([1, -1, 2]), protectedModel, data }, { bootstrap: 0 });
    const r2 = predictionSensitivity({ task: linear([1, -1, 2]), featureWeights: [5, 0, 0], data }, { bootstrap: 0 });
    for (let i = 0; i < n; i++) expect(r2.perExample[i]).toBeCloseTo(r1.perExample[i]!, 6);
  });

  it('counts examples where the protected model is flat, and refuses bad input with typed errors', () => {
    const r = predictionSensitivity(
      { task: linear([1, 0, 0]), protectedModel: linear([0, 0, 0]), data },
      { bootstrap: 0 },
    );
    expect(r.flatProtected).toBe(n);
    expect(r.aps).toBe(0);
    const bad = (input: object, pattern: RegExp) => {
      let error: unknown;
      try {
        predictionSensitivity({ task: linear([1, 0, 0]), data, ...input } as never);
      } catch (e) {
        error = e;
      }
      expect(isDpflError(error)).toBe(true);
      expect(String(error)).toMatch(pattern);
    };
    bad({}, /exactly one of protectedModel and featureWeights/);
    bad({ protectedModel, featureWeights: [1, 0, 0] }, /exactly one/);
    bad({ featureWeights: [1, 0] }, /featureWeights.length must be data.featureDim \(3\)/);
    bad({ featureWeights: [1, -1, 0] }, /featureWeights\[1\]/);
    bad({ protectedModel, taskClass: 2 }, /taskClass must be an integer in \[0, 2\)/);
    bad({ protectedModel: {} }, /protectedModel.inputGradient must be a function/);
    bad({ protectedModel, data: { ...data, kind: 'bags' } }, /data.kind/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Text: filler words, sometimes a gendered word, sometimes "free". Task A learnt "spam iff a female word",
// task B "spam iff free"; the protected model learnt "has a gendered word". A leans on what the protected model
// reads, B does not. The protected model sums its rows ('sum' combiner): under 'mean' a linear model must also
// push every filler row down to tell texts without a gendered word, and its weights w spread over filler rows.
const BUCKETS = 1024;
const FILLER = 'report meeting lunch budget paper coffee train garden music river table window'.split(' ');
const GENDERED = ['she', 'he', 'woman', 'man', 'mother', 'father'];

function corpus(n: number, seed: number): string[] {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => {
    const words = Array.from({ length: 6 }, () => FILLER[rng.below(FILLER.length)]!);
    if (rng.next() < 0.5) words.splice(rng.below(words.length), 0, GENDERED[rng.below(GENDERED.length)]!);
    if (rng.next() < 0.5) words.splice(rng.below(words.length), 0, 'free');
    return words.join(' ');
  });
}

function bagsData(texts: string[], labels: Int32Array): Dataset {
  // Unigrams only: a bigram row would mix the gendered word with its neighbour.
  const ids = texts.map((t) => hashNgrams(tokenize(t), BUCKETS, 1));
  const offsets = new Int32Array(texts.length + 1);
  ids.forEach((b, i) => {
    offsets[i + 1] = offsets[i]! + b.length;
  });
  const indices = Int32Array.from(ids.flat());
  return { name: 'text', size: texts.length, classes: 2, kind: 'bags', featureDim: BUCKETS, indices, offsets, labels };
}

function train(spec: ModelSpec, data: Dataset, steps: number, seed: number): Sequential {
  const model = createModel(spec, seed);
  const optimizer = new NonPrivateOptimizer({ params: model.params, update: { kind: 'adam', lr: 0.02 } });
  const sampler = new FixedSizeSampler({ datasetSize: data.size, batchSize: 64, seed });
  new Trainer({ model, data, sampler, optimizer, private: false }).run(steps);
  return model;
}

describe('predictionSensitivity on trained text models', () => {
  const texts = corpus(600, 7);
  const female = protectedStatusLabels(texts, 'female');
  const free = Int32Array.from(texts, (t) => (/\bfree\b/.test(t) ? 1 : 0));
  const textSpec: ModelSpec = { kind: 'text', input: 'bags', inputDim: BUCKETS, classes: 2, hidden: [16, 16] };
  const linearSpec: ModelSpec = { kind: 'linear', input: 'bags', inputDim: BUCKETS, classes: 2, combiner: 'sum' };

  it('is far larger for a task model that learnt a gendered word than for one that learnt a neutral word', () => {
    const protectedModel = train(linearSpec, bagsData(texts, protectedStatusLabels(texts)), 60, 1);
    const onGender = train(textSpec, bagsData(texts, female), 60, 2);
    const onFree = train(textSpec, bagsData(texts, free), 60, 3);
    const eval_ = bagsData(corpus(200, 8), new Int32Array(200));
    const a = predictionSensitivity({ task: onGender, protectedModel, data: eval_ }, { bootstrap: 300, seed: 1 });
    const b = predictionSensitivity({ task: onFree, protectedModel, data: eval_ }, { bootstrap: 300, seed: 1 });
    // Observed with these seeds: 0.233 vs 0.018 (the protected model reads the gendered rows, 100% accurate).
    expect(a.aps).toBeGreaterThan(5 * b.aps);
    expect(a.interval.lower).toBeGreaterThan(b.interval.upper);
    // Reproducible from the seeds.
    expect(predictionSensitivity({ task: onFree, protectedModel, data: eval_ }, { bootstrap: 300, seed: 1 })).toEqual(
      b,
    );
  });
});

describe('protectedStatusLabels', () => {
  it('labels gendered texts, or female-dominant ones', () => {
    const t = ['She met him', 'the report', 'Her mother and her aunt', 'He and his father'];
    expect(Array.from(protectedStatusLabels(t))).toEqual([1, 0, 1, 1]);
    expect(Array.from(protectedStatusLabels(t, 'female'))).toEqual([0, 0, 1, 0]);
    expect(() => protectedStatusLabels(t, 'male' as never)).toThrow(/rule must be "gendered" or "female"/);
    expect(() => protectedStatusLabels([3] as never)).toThrow(/texts\[0\] must be a string/);
  });
});
