// The TypeScript wrappers of the NN kernels: results against small float64 references and every
// bad-argument case named clearly (type → TypeError, range → RangeError, each with a code).
import { describe, expect, it } from 'vitest';
import {
  activationBackward,
  activationForward,
  denseBackwardInput,
  denseForward,
  embeddingBagForward,
  embeddingBagGhostSqNorms,
  sgdUpdate,
  softmaxCrossEntropy,
} from '../../src/kernels/nn.js';

describe('nn kernels', () => {
  it('dense forward and input gradient match a float64 reference (W stored in x out)', () => {
    const x = Float32Array.of(1, 2, 3, -1, 0.5, 2);
    const w = Float32Array.of(1, 0, 0.5, -1, 2, 1);
    const b = Float32Array.of(0.25, -0.5);
    const y = denseForward(x, w, b, 2, 3, 2);
    expect(Array.from(y)).toEqual([1 + 1 + 6 + 0.25, 0 - 2 + 3 - 0.5, -1 + 0.25 + 4 + 0.25, 0 - 0.5 + 2 - 0.5]);
    const dx = denseBackwardInput(Float32Array.of(1, 2, 0, 1), w, 2, 3, 2);
    expect(Array.from(dx)).toEqual([1, 0.5 - 2, 2 + 2, 0, -1, 1]);
  });

  it('activations, softmax cross-entropy and embedding bags', () => {
    expect(Array.from(activationForward('relu', Float32Array.of(-1, 2)))).toEqual([0, 2]);
    expect(Array.from(activationBackward('relu', Float32Array.of(0, 2), Float32Array.of(5, 5)))).toEqual([0, 5]);
    const t = activationForward('tanh', Float32Array.of(0.5));
    expect(t[0]).toBeCloseTo(Math.tanh(0.5), 6);
    const loss = softmaxCrossEntropy(Float32Array.of(0, 0), Int32Array.of(1), 1, 2);
    expect(loss[0]).toBeCloseTo(Math.log(2), 6);
    const table = Float32Array.of(1, 2, 3, 4, 5, 6);
    const bags = { indices: Int32Array.of(0, 2, 2), offsets: Int32Array.of(0, 3) };
    const out = embeddingBagForward(table, 3, 2, bags, 1);
    expect(out[0]).toBeCloseTo((1 + 5 + 5) / 3, 6);
    expect(out[1]).toBeCloseTo((2 + 6 + 6) / 3, 6);
    // Rows 0 (weight 1/3) and 2 (weight 2/3 merged): ‖dout‖²·(1/9 + 4/9).
    const sq = embeddingBagGhostSqNorms(Float32Array.of(3, 4), 3, 2, bags, 1);
    expect(sq[0]).toBeCloseTo(25 * (5 / 9), 5);
  });

  it('refuses bad arguments with named, coded errors', () => {
    const cases: Array<[() => unknown, RegExp, string]> = [
      [
        () => denseForward([1] as never, new Float32Array(1), null, 1, 1, 1),
        /^x must be a Float32Array, received Array\(1\)$/,
        'ERR_DPFL_INVALID_TYPE',
      ],
      [
        () => denseForward(new Float32Array(3), new Float32Array(1), null, 1, 2, 1),
        /^x.length must be 2, received 3$/,
        'ERR_DPFL_INVALID_ARGUMENT',
      ],
      [
        () => denseForward(new Float32Array(2), new Float32Array(2), null, 1, 2, 0),
        /^outDim must be a positive integer, received 0$/,
        'ERR_DPFL_INVALID_ARGUMENT',
      ],
      [
        () => activationForward('gelu' as never, new Float32Array(1)),
        /^activation must be "relu" or "tanh", received "gelu"$/,
        'ERR_DPFL_INVALID_ARGUMENT',
      ],
      [
        () => softmaxCrossEntropy(new Float32Array(2), Int32Array.of(5), 1, 2),
        /labels must lie in \[0, classes\)/,
        'ERR_DPFL_INVALID_ARGUMENT',
      ],
      [
        () => softmaxCrossEntropy(new Float32Array(2), [0] as never, 1, 2),
        /^labels must be an Int32Array/,
        'ERR_DPFL_INVALID_TYPE',
      ],
      [
        () =>
          embeddingBagForward(
            new Float32Array(4),
            2,
            2,
            { indices: Int32Array.of(7), offsets: Int32Array.of(0, 1) },
            1,
          ),
        /indices must lie in \[0, rows\)/,
        'ERR_DPFL_INVALID_ARGUMENT',
      ],
      [
        () =>
          embeddingBagForward(new Float32Array(4), 2, 2, { indices: Int32Array.of(0), offsets: Int32Array.of(0) }, 1),
        /^bags.offsets.length must be batch \+ 1 \(2\), received 1$/,
        'ERR_DPFL_INVALID_ARGUMENT',
      ],
      [
        () =>
          embeddingBagForward(
            new Float32Array(4),
            2,
            2,
            { indices: Int32Array.of(0), offsets: Int32Array.of(1, 0) },
            1,
          ),
        /offsets must be non-decreasing/,
        'ERR_DPFL_INVALID_ARGUMENT',
      ],
      [
        () => sgdUpdate(new Float32Array(2), new Float32Array(2), { lr: 0.1, momentum: 0.9 }),
        /^options.velocity must be given when options.momentum > 0/,
        'ERR_DPFL_INVALID_ARGUMENT',
      ],
      [
        () => sgdUpdate(new Float32Array(2), new Float32Array(2), {} as never),
        /^options.lr must be a finite number, received undefined$/,
        'ERR_DPFL_INVALID_TYPE',
      ],
    ];
    for (const [fn, message, code] of cases) {
      try {
        fn();
        expect.unreachable(`expected ${message}`);
      } catch (e) {
        expect((e as Error).message).toMatch(message);
        expect((e as { code: string }).code).toBe(code);
      }
    }
  });
});
