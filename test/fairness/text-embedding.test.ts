// textModelEmbedding: a term's vector is exactly what the model's embedding bag gives a one-term text; and WEAT
// on a text model trained (Trainer, non-private) where female words go with spam words finds the association.
import { describe, expect, it } from 'vitest';
import { textModelEmbedding } from '../../src/fairness/text-embedding.js';
import { weat } from '../../src/fairness/weat.js';
import { createModel } from '../../src/models/index.js';
import type { EmbeddingBag } from '../../src/models/layers.js';
import { hashNgrams, tokenize } from '../../src/data/hashing.js';
import type { Dataset } from '../../src/data/dataset.js';
import { Random } from '../../src/data/random.js';
import { FixedSizeSampler, NonPrivateOptimizer, Trainer } from '../../src/dpsgd/index.js';

describe('textModelEmbedding', () => {
  for (const combiner of ['mean', 'sqrtn', 'sum'] as const) {
    it(`equals the embedding bag's output for the term as a text (${combiner})`, () => {
      const rows = 97;
      const model = createModel(
        { kind: 'text', input: 'bags', inputDim: rows, classes: 2, hidden: [5, 4], combiner },
        2,
      );
      const embed = textModelEmbedding(model);
      const layer = model.layers[0] as EmbeddingBag;
      for (const term of ['she', 'Vice President', 'mother-in-law']) {
        const ids = hashNgrams(tokenize(term), rows);
        const bags = { indices: Int32Array.from(ids), offsets: Int32Array.of(0, ids.length) };
        const g = model.groups[0]!;
        const out = layer.forward({ kind: 'bags', bags }, 1, model.params.subarray(g.offset, g.offset + g.length));
        const v = embed(term)!;
        expect(v.length).toBe(5);
        for (let k = 0; k < 5; k++) expect(v[k]).toBeCloseTo(out[k]!, 6);
      }
      expect(embed('— … —')).toBeUndefined();
    });
  }

  it('reads unigrams only with ngrams: 1, and refuses models without an embedding bag', () => {
    const model = createModel({ kind: 'text', input: 'bags', inputDim: 50, classes: 2, hidden: [3, 3] }, 1);
    const one = textModelEmbedding(model, { ngrams: 1 })('big house')!;
    const [a, b] = [textModelEmbedding(model)('big')!, textModelEmbedding(model)('house')!];
    for (let k = 0; k < 3; k++) expect(one[k]).toBeCloseTo((a[k]! + b[k]!) / 2, 6);
    const dense = createModel({ kind: 'linear', input: 'dense', inputDim: 4, classes: 2 }, 1);
    expect(() => textModelEmbedding(dense)).toThrow(/first layer is an embedding bag/);
    expect(() => textModelEmbedding(model, { ngrams: 3 as never })).toThrow(/options.ngrams/);
  });
});

describe('weat on a trained text model', () => {
  const FEMALE = ['she', 'woman', 'mother', 'sister'];
  const MALE = ['he', 'man', 'father', 'brother'];
  const SPAM = ['cash', 'offer', 'prize'];
  const HAM = ['meeting', 'report', 'agenda'];
  const FILLER = 'the a today about this our please see'.split(' ');
  const BUCKETS = 4096;

  /** A text model trained (non-private Trainer) on spam = a `spamSide` word + a spam word, ham = the other side's. */
  function trained(spamSide: string[], hamSide: string[]) {
    const rng = new Random(3);
    const texts: string[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 400; i++) {
      const spam = i % 2 === 0;
      const pick = (l: string[]) => l[rng.below(l.length)]!;
      const words = [pick(spam ? spamSide : hamSide), pick(spam ? SPAM : HAM), pick(FILLER), pick(FILLER)];
      rng.shuffle(words);
      texts.push(words.join(' '));
      labels.push(spam ? 1 : 0);
    }
    const ids = texts.map((t) => hashNgrams(tokenize(t), BUCKETS));
    const offsets = new Int32Array(texts.length + 1);
    ids.forEach((b, i) => {
      offsets[i + 1] = offsets[i]! + b.length;
    });
    const data: Dataset = {
      name: 'toy-text',
      size: texts.length,
      classes: 2,
      kind: 'bags',
      featureDim: BUCKETS,
      indices: Int32Array.from(ids.flat()),
      offsets,
      labels: Int32Array.from(labels),
    };
    const model = createModel({ kind: 'text', input: 'bags', inputDim: BUCKETS, classes: 2, hidden: [16, 16] }, 5);
    const optimizer = new NonPrivateOptimizer({ params: model.params, update: { kind: 'adam', lr: 0.02 } });
    const sampler = new FixedSizeSampler({ datasetSize: data.size, batchSize: 32, seed: 1 });
    new Trainer({ model, data, sampler, optimizer, private: false }).run(100);
    return model;
  }

  it('finds the association the training data put in, with its sign', () => {
    const input = { targets: [FEMALE, MALE] as const, attributes: [SPAM, HAM] as const };
    // Same initial parameters (seed 5) in both runs: only the training data differs.
    const femaleSpam = weat({ embed: textModelEmbedding(trained(FEMALE, MALE)), ...input });
    const maleSpam = weat({ embed: textModelEmbedding(trained(MALE, FEMALE)), ...input });
    expect(femaleSpam).toMatchObject({ pValueMethod: 'exact', partitions: 70 });
    // Observed: d = 1.87, p = 1/70 (the smallest possible), and d = −1.87, p = 1 the other way round.
    expect(femaleSpam.effectSize).toBeGreaterThan(1.5);
    expect(femaleSpam.pValue).toBeLessThan(0.05);
    expect(maleSpam.effectSize).toBeLessThan(-1);
    expect(maleSpam.pValue).toBeGreaterThan(0.5);
  });
});
