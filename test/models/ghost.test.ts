// Ghost norms of the built-in models against materialised per-example gradients (a batch-of-one
// backward per example), and the book-keeping clipped sum against a float64 reference.
import { describe, expect, it } from 'vitest';
import { createModel, type ModelSpec } from '../../src/models/index.js';
import { gatherBatch, syntheticBags, syntheticDense, type Dataset } from '../../src/data/index.js';
import type { Sequential } from '../../src/models/sequential.js';
import { EmbeddingBag } from '../../src/models/layers.js';
import { Random } from '../../src/data/random.js';

function perExampleGrads(model: Sequential, data: Dataset, rows: Int32Array): Float32Array[] {
  return Array.from(rows, (r) => {
    const g = new Float32Array(model.paramCount);
    model.forwardBackward(gatherBatch(data, Int32Array.of(r)));
    model.backwardParams(
      g,
      model.groups.map(() => null),
      false,
    );
    return g;
  });
}

function groupSq(g: Float32Array, model: Sequential): number[] {
  return model.groups.map(({ offset, length }) => {
    let s = 0;
    for (let i = offset; i < offset + length; i++) s += g[i]! * g[i]!;
    return s;
  });
}

const cases: Array<[string, ModelSpec, Dataset]> = [
  [
    'mlp (dense, relu)',
    { kind: 'mlp', input: 'dense', inputDim: 19, classes: 3, hidden: [11, 7] },
    syntheticDense({ size: 40, dim: 19, classes: 3, seed: 3 }),
  ],
  [
    'mlp (dense, tanh)',
    { kind: 'mlp', input: 'dense', inputDim: 19, classes: 3, hidden: [5], activation: 'tanh' },
    syntheticDense({ size: 40, dim: 19, classes: 3, seed: 4 }),
  ],
  [
    'linear (dense)',
    { kind: 'linear', input: 'dense', inputDim: 19, classes: 4 },
    syntheticDense({ size: 40, dim: 19, classes: 4, seed: 5 }),
  ],
  [
    'text (bags with duplicate tokens)',
    { kind: 'text', input: 'bags', inputDim: 37, classes: 2, hidden: [8, 6] },
    syntheticBags({ size: 40, rows: 37, classes: 2, tokensPerExample: 9, seed: 6 }),
  ],
  [
    'linear (bags + bias)',
    { kind: 'linear', input: 'bags', inputDim: 37, classes: 3 },
    syntheticBags({ size: 40, rows: 37, classes: 3, tokensPerExample: 5, seed: 7 }),
  ],
  [
    'text (bags, sqrtn combiner)',
    { kind: 'text', input: 'bags', inputDim: 37, classes: 2, hidden: [8, 6], combiner: 'sqrtn' },
    syntheticBags({ size: 40, rows: 37, classes: 2, tokensPerExample: 9, seed: 8 }),
  ],
  [
    'embedding-bag (EmbeddingBag + Linear, the peer shape)',
    { kind: 'embedding-bag', input: 'bags', inputDim: 37, classes: 2, hidden: [8] },
    syntheticBags({ size: 40, rows: 37, classes: 2, tokensPerExample: 9, seed: 10 }),
  ],
  [
    'linear (bags, sum combiner)',
    { kind: 'linear', input: 'bags', inputDim: 37, classes: 3, combiner: 'sum' },
    syntheticBags({ size: 40, rows: 37, classes: 3, tokensPerExample: 5, seed: 9 }),
  ],
];

describe('ghost norms', () => {
  for (const [name, spec, data] of cases) {
    it(`${name}: equal the norms of materialised per-example gradients`, () => {
      const model = createModel(spec, 11);
      const rows = Int32Array.from({ length: 19 }, (_, i) => i * 2);
      const grads = perExampleGrads(model, data, rows);
      model.forwardBackward(gatherBatch(data, rows));
      const G = model.groups.length;
      const sq = new Float64Array(rows.length * G);
      model.ghostSqNorms(sq, new Float64Array(rows.length));
      grads.forEach((g, r) => {
        const ref = groupSq(g, model);
        ref.forEach((v, k) => expect(Math.abs(sq[r * G + k]! - v)).toBeLessThanOrEqual(1e-9 + 2e-5 * v));
      });
      // Book-keeping: one re-weighted backward equals Σ_r s_r g_r.
      const s = Float32Array.from(rows, (_, i) => 0.1 + ((i * 7) % 5) / 5);
      const sum = new Float32Array(model.paramCount);
      model.backwardParams(
        sum,
        model.groups.map(() => s),
        false,
      );
      for (let j = 0; j < model.paramCount; j++) {
        let ref = 0;
        let mag = 0;
        grads.forEach((g, r) => {
          ref += s[r]! * g[j]!;
          mag += Math.abs(s[r]! * g[j]!);
        });
        expect(Math.abs(sum[j]! - ref)).toBeLessThanOrEqual(1e-7 + 2e-5 * mag);
      }
    });
  }

  it('bag combiners weight a bag of n tokens by 1/n (mean), 1/sqrt(n) (sqrtn) or 1 (sum)', () => {
    const bags = { indices: Int32Array.of(3, 1, 3, 0, 2), offsets: Int32Array.of(0, 3, 3, 5) };
    const rows = 4;
    const dim = 2;
    for (const [combiner, w] of [
      ['mean', (n: number) => 1 / n],
      ['sqrtn', (n: number) => 1 / Math.sqrt(n)],
      ['sum', () => 1],
    ] as const) {
      const layer = new EmbeddingBag('e', rows, dim, false, 0.5, combiner);
      const params = new Float32Array(layer.paramCount);
      layer.init(params, new Random(3));
      const out = layer.forward({ kind: 'bags', bags }, 3, params);
      for (let r = 0; r < 3; r++) {
        const a = bags.offsets[r]!;
        const b = bags.offsets[r + 1]!;
        for (let j = 0; j < dim; j++) {
          let ref = 0;
          for (let t = a; t < b; t++) ref += w(b - a) * params[bags.indices[t]! * dim + j]!;
          expect(out[r * dim + j]!).toBeCloseTo(ref, 6);
        }
      }
    }
    expect(() =>
      createModel({ kind: 'linear', input: 'bags', inputDim: 3, classes: 2, combiner: 'max' as never }),
    ).toThrow(/spec.combiner must be "mean", "sqrtn" or "sum", received "max"/);
  });

  it('an empty batch gives no norms and a zero gradient', () => {
    const data = syntheticDense({ size: 4, dim: 3, classes: 2 });
    const model = createModel({ kind: 'mlp', input: 'dense', inputDim: 3, classes: 2, hidden: [4] });
    expect(model.forwardBackward(gatherBatch(data, new Int32Array(0)))).toBe(0);
    const g = new Float32Array(model.paramCount).fill(1);
    model.backwardParams(
      g,
      model.groups.map(() => null),
      false,
    );
    expect(g.every((v) => v === 0)).toBe(true);
  });

  it('createModel refuses bad specs with clear errors', () => {
    expect(() => createModel({ kind: 'mlp', input: 'dense', inputDim: 0, classes: 2 })).toThrow(
      /spec.inputDim must be a positive integer, received 0/,
    );
    expect(() => createModel({ kind: 'cnn' as never, input: 'dense', inputDim: 3, classes: 2 })).toThrow(RangeError);
    expect(() => createModel({ kind: 'text', input: 'dense', inputDim: 3, classes: 2 })).toThrow(
      /"bags" for the text model/,
    );
    try {
      createModel({ kind: 'linear', input: 'dense', inputDim: 3, classes: 1 });
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_DPFL_INVALID_ARGUMENT');
    }
  });
});
