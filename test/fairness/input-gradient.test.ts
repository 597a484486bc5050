// Sequential.inputGradient (what prediction sensitivity differentiates) against central finite differences of a
// float64 re-implementation of the same model over the same parameters: dense input (linear, MLP with tanh and
// relu) and bags input (the text model, each combiner, and given weights).
import { describe, expect, it } from 'vitest';
import { createModel, type ModelSpec } from '../../src/models/index.js';
import { Act, Dense, EmbeddingBag } from '../../src/models/layers.js';
import type { Sequential } from '../../src/models/sequential.js';
import { Random } from '../../src/data/random.js';
import type { Bags } from '../../src/kernels/nn.js';

// The model's function in float64: softmax probabilities of one example (dense x, or one bag).
function probs64(model: Sequential, x: Float64Array | { indices: number[]; weights: number[] }): Float64Array {
  let h = x instanceof Float64Array ? x : undefined;
  model.layers.forEach((layer, i) => {
    const g = model.groups.find((gr) => gr.name === layer.name);
    const p = g ? model.params.subarray(g.offset, g.offset + g.length) : new Float32Array(0);
    if (layer instanceof EmbeddingBag) {
      const bag = x as { indices: number[]; weights: number[] };
      const out = new Float64Array(layer.outDim);
      bag.indices.forEach((row, t) => {
        for (let k = 0; k < layer.outDim; k++) out[k]! += bag.weights[t]! * p[row * layer.outDim + k]!;
      });
      if (layer.bias) for (let k = 0; k < layer.outDim; k++) out[k]! += p[layer.rows * layer.outDim + k]!;
      h = out;
    } else if (layer instanceof Dense) {
      const out = new Float64Array(layer.outDim);
      for (let o = 0; o < layer.outDim; o++) {
        let s = p[layer.inDim * layer.outDim + o]!;
        for (let j = 0; j < layer.inDim; j++) s += h![j]! * p[j * layer.outDim + o]!;
        out[o] = s;
      }
      h = out;
    } else if (layer instanceof Act) {
      h = h!.map((v) => (layer.kind === 'relu' ? Math.max(0, v) : Math.tanh(v)));
    } else throw new Error(`layer ${i}`);
  });
  const max = Math.max(...h!);
  const e = h!.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

// |a − ref| ≤ atol + rtol·|ref|: the model runs in float32 (≈ 1e-7 relative per op, a few dozen ops deep); the
// float64 central difference with h = 1e-5 has truncation error O(h²·p''') ≈ 1e-10 and rounding ≈ 1e-16/h.
const TOL = { atol: 2e-6, rtol: 1e-4 };
function expectClose(actual: ArrayLike<number>, ref: ArrayLike<number>): void {
  expect(actual.length).toBe(ref.length);
  // Not a comparison of zeros: the derivatives checked are of a size the tolerance resolves.
  expect(Math.max(...Array.from(ref, Math.abs))).toBeGreaterThan(1e-3);
  for (let i = 0; i < ref.length; i++) {
    const ok = Math.abs(actual[i]! - ref[i]!) <= TOL.atol + TOL.rtol * Math.abs(ref[i]!);
    if (!ok) expect.fail(`element ${i}: ${actual[i]} vs finite difference ${ref[i]}`);
  }
}
const H = 1e-5;

describe('Sequential.inputGradient, dense input', () => {
  const cases: [string, ModelSpec][] = [
    ['linear', { kind: 'linear', input: 'dense', inputDim: 7, classes: 3 }],
    ['mlp tanh', { kind: 'mlp', input: 'dense', inputDim: 6, classes: 2, hidden: [5, 4], activation: 'tanh' }],
    ['mlp relu', { kind: 'mlp', input: 'dense', inputDim: 5, classes: 3, hidden: [8], activation: 'relu' }],
  ];
  for (const [name, spec] of cases) {
    it(`${name}: matches central differences of the float64 model`, () => {
      const model = createModel(spec, 11);
      const rng = new Random(5);
      const b = 4;
      const d = spec.inputDim;
      const x = Float32Array.from({ length: b * d }, () => 2 * rng.next() - 1);
      const cls = Int32Array.from({ length: b }, (_, r) => r % spec.classes);
      const g = model.inputGradient({ size: b, x, labels: new Int32Array(b) }, cls);
      expect(g.length).toBe(b * d);
      const ref = new Float64Array(b * d);
      for (let r = 0; r < b; r++) {
        const row = Float64Array.from(x.subarray(r * d, (r + 1) * d));
        for (let j = 0; j < d; j++) {
          const plus = row.slice();
          plus[j]! += H;
          const minus = row.slice();
          minus[j]! -= H;
          ref[r * d + j] = (probs64(model, plus)[cls[r]!]! - probs64(model, minus)[cls[r]!]!) / (2 * H);
        }
      }
      expectClose(g, ref);
      // A single class index for every example gives the same rows as the per-example form.
      const g1 = model.inputGradient({ size: b, x, labels: new Int32Array(b) }, 1);
      expectClose(g1.subarray(d, 2 * d), ref.subarray(d, 2 * d));
    });
  }
});

describe('Sequential.inputGradient, bags input', () => {
  const rows = 50;
  const bagsOf = (lists: number[][], weights?: number[][]): Bags => {
    const offsets = new Int32Array(lists.length + 1);
    lists.forEach((l, i) => {
      offsets[i + 1] = offsets[i]! + l.length;
    });
    return {
      indices: Int32Array.from(lists.flat()),
      offsets,
      ...(weights ? { weights: Float32Array.from(weights.flat()) } : {}),
    };
  };
  const lists = [[3, 7, 7, 20], [0], [49, 1, 2]];
  const combinerWeight = { mean: (n: number) => 1 / n, sqrtn: (n: number) => 1 / Math.sqrt(n), sum: () => 1 };

  for (const combiner of ['mean', 'sqrtn', 'sum'] as const) {
    it(`text model (${combiner}): ∂p/∂(entry weight) matches central differences`, () => {
      const model = createModel(
        { kind: 'text', input: 'bags', inputDim: rows, classes: 2, hidden: [6, 5], combiner },
        3,
      );
      // Train-free but non-trivial: random initial rows (scale 0.1) and Glorot dense layers.
      const g = model.inputGradient({ size: lists.length, bags: bagsOf(lists), labels: new Int32Array(3) }, 1);
      const ws = lists.map((l) => l.map(() => combinerWeight[combiner](l.length)));
      const ref: number[] = [];
      lists.forEach((l, r) => {
        l.forEach((_, t) => {
          const at = (delta: number) => {
            const w = ws[r]!.slice();
            w[t]! += delta;
            return probs64(model, { indices: l, weights: w })[1]!;
          };
          ref.push((at(H) - at(-H)) / (2 * H));
        });
      });
      expectClose(g, ref);
      // Repeated row 7 in bag 0: both entries have the same derivative (the row's).
      expect(g[1]).toBe(g[2]);
    });
  }

  it('given weights and an MLP over bags (embedding with bias, relu)', () => {
    const model = createModel({ kind: 'mlp', input: 'bags', inputDim: rows, classes: 3, hidden: [7] }, 9);
    const weights = [[0.5, 1.5, 0.25, 2], [1], [0.3, 0.3, 0.9]];
    const g = model.inputGradient({ size: 3, bags: bagsOf(lists, weights), labels: new Int32Array(3) }, 2);
    const ref: number[] = [];
    lists.forEach((l, r) => {
      l.forEach((_, t) => {
        const at = (delta: number) => {
          const w = weights[r]!.slice();
          w[t]! += delta;
          return probs64(model, { indices: l, weights: w })[2]!;
        };
        ref.push((at(H) - at(-H)) / (2 * H));
      });
    });
    expectClose(g, ref);
  });

  it('refuses a class out of range and a class array of the wrong length', () => {
    const model = createModel({ kind: 'linear', input: 'dense', inputDim: 3, classes: 2 }, 1);
    const batch = { size: 2, x: new Float32Array(6), labels: new Int32Array(2) };
    expect(() => model.inputGradient(batch, 2)).toThrow(/classIndex must be an integer in \[0, 2\)/);
    expect(() => model.inputGradient(batch, Int32Array.of(0))).toThrow(/classIndex.length/);
    expect(() => model.inputGradient(batch, [0, 1] as never)).toThrow(/classIndex/);
  });
});
