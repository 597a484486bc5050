// Regression tests for issue 12 §6 ("every error is typed"): each reproduction that the fuzzer
// (test/fuzz/public-api.test.ts) or the issue found threw an error without a dpfl `code`, hung, or
// returned ±Infinity silently.
import { describe, expect, it } from 'vitest';
import {
  addGaussianNoise,
  addGaussianNoiseAsync,
  Aggregator,
  clipAndSum,
  nn,
  perSampleNorms,
  weightedSum,
} from '../src/index.js';
import { gaussianEpsilon } from '../src/accounting/index.js';
import { gatherBatch, syntheticBags, syntheticDense } from '../src/data/index.js';
import { loadCheckpoint } from '../src/dpsgd/index.js';
import { createModel, Dense, Sequential } from '../src/models/index.js';
import { MAX_NOISE_STD } from '../src/kernels/noise-options.js';

const FLT_MAX = 3.4028234663852886e38;

/** Runs f and returns what it threw (failing when it returns). */
function thrown(f: () => unknown): Error & { code?: string } {
  try {
    f();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

function expectCode(f: () => unknown, code: string, message: RegExp): void {
  const e = thrown(f);
  expect(e.code, e.message).toBe(code);
  expect(e.message).toMatch(message);
}

describe('noise: std whose noise would overflow float32, and options ignored in secure mode', () => {
  it('refuses std = 1e308 before touching x (sync, async, secure and seeded)', async () => {
    const x = new Float32Array([1, 2, 3]);
    expectCode(
      () => addGaussianNoise(x, 1e308, { seed: 1 }),
      'ERR_DPFL_INVALID_ARGUMENT',
      /^std must be at most .* received 1e\+308/,
    );
    expectCode(() => addGaussianNoise(x, 1e39), 'ERR_DPFL_INVALID_ARGUMENT', /^std must be at most/);
    await expect(addGaussianNoiseAsync(x, 1e308, { seed: 1 })).rejects.toMatchObject({
      code: 'ERR_DPFL_INVALID_ARGUMENT',
    });
    expect([...x]).toEqual([1, 2, 3]);
  });

  it('keeps every finite x finite at the largest std accepted, even x = ±FLT_MAX', () => {
    const x = new Float32Array(4096);
    for (let i = 0; i < x.length; i++) x[i] = i % 2 === 0 ? FLT_MAX : -FLT_MAX;
    addGaussianNoise(x, MAX_NOISE_STD, { seed: 7 });
    expect(x.every(Number.isFinite)).toBe(true);
    const y = new Float32Array(4096).fill(FLT_MAX);
    addGaussianNoise(y, MAX_NOISE_STD);
    expect(y.every(Number.isFinite)).toBe(true);
  });

  it('refuses stream and offset in secure mode, where they would be silently ignored', async () => {
    const x = new Float32Array(3);
    expectCode(
      () => addGaussianNoise(x, 1, { stream: 2 }),
      'ERR_DPFL_INVALID_ARGUMENT',
      /^options.stream must be absent in secure mode/,
    );
    expectCode(
      () => addGaussianNoise(x, 1, { offset: 5, secure: true }),
      'ERR_DPFL_INVALID_ARGUMENT',
      /^options.offset must be absent in secure mode/,
    );
    await expect(addGaussianNoiseAsync(x, 1, { stream: 1n })).rejects.toMatchObject({
      code: 'ERR_DPFL_INVALID_ARGUMENT',
    });
    expect([...x]).toEqual([0, 0, 0]);
    expect(() => addGaussianNoise(x, 1, { seed: 1, stream: 2, offset: 5 })).not.toThrow();
  });
});

describe('typed arrays are checked by brand, not by instanceof', () => {
  it('refuses Proxy-wrapped and fake Float32Arrays with a typed error', () => {
    const proxy = new Proxy(new Float32Array(4), {});
    const fake = Object.create(Float32Array.prototype) as Float32Array;
    for (const bad of [proxy, fake]) {
      expectCode(() => clipAndSum(bad, 2, 1), 'ERR_DPFL_INVALID_TYPE', /^grads must be a Float32Array/);
      expectCode(() => addGaussianNoise(bad, 1, { seed: 1 }), 'ERR_DPFL_INVALID_TYPE', /^x must be a Float32Array/);
      expectCode(() => weightedSum([bad], [1]), 'ERR_DPFL_INVALID_TYPE', /^updates\[0\] must be a Float32Array/);
      expectCode(() => nn.activationForward('relu', bad), 'ERR_DPFL_INVALID_TYPE', /^x must be a Float32Array/);
    }
  });

  it('refuses a detached buffer up front', () => {
    const x = new Float32Array(4);
    structuredClone(x.buffer, { transfer: [x.buffer] });
    expectCode(
      () => addGaussianNoise(x, 1, { seed: 1 }),
      'ERR_DPFL_INVALID_TYPE',
      /^x must be an attached Float32Array/,
    );
  });
});

describe('options that are null or missing', () => {
  it('nn.sgdUpdate, nn.adamUpdate and nn.denseBackwardParams name options', () => {
    const p = new Float32Array(2);
    expectCode(
      () => nn.sgdUpdate(p, p, null as never),
      'ERR_DPFL_INVALID_TYPE',
      /^options must be an object, received null/,
    );
    expectCode(
      () => nn.sgdUpdate(p, p, undefined as never),
      'ERR_DPFL_INVALID_TYPE',
      /^options must be an object, received undefined/,
    );
    expectCode(() => nn.adamUpdate(p, p, p, p, null as never), 'ERR_DPFL_INVALID_TYPE', /^options must be an object/);
    expectCode(
      () => nn.denseBackwardParams(p, p, 1, 2, 2, new Float32Array(4), null as never),
      'ERR_DPFL_INVALID_TYPE',
      /^options must be an object/,
    );
    expectCode(() => nn.biasBackward(p, 1, 2, p, null as never), 'ERR_DPFL_INVALID_TYPE', /^options must be an object/);
    expectCode(
      () => nn.softmaxCrossEntropy(p, new Int32Array(1), 1, 2, null as never),
      'ERR_DPFL_INVALID_TYPE',
      /^options must be an object/,
    );
  });
});

describe('BigInt, Symbol and strings inside number lists', () => {
  it('names the element of weights or groups', () => {
    const u = new Float32Array(4);
    expectCode(
      () => weightedSum([u, u], [1, 2n] as never),
      'ERR_DPFL_INVALID_TYPE',
      /^weights\[1\] must be a number, received 2n/,
    );
    expectCode(
      () => weightedSum([u], [Symbol('w')] as never),
      'ERR_DPFL_INVALID_TYPE',
      /^weights\[0\] must be a number/,
    );
    expectCode(
      () => clipAndSum(u, 1, 1, { groups: [2, '4'] as never }),
      'ERR_DPFL_INVALID_TYPE',
      /^options.groups\[1\] must be a number/,
    );
    expectCode(
      () => perSampleNorms(u, 1, { groups: new BigInt64Array([4n]) as never }),
      'ERR_DPFL_INVALID_TYPE',
      /^options.groups must be/,
    );
    expectCode(
      () => new Aggregator(4).addMany([u], [1n] as never),
      'ERR_DPFL_INVALID_TYPE',
      /^weights\[0\] must be a number/,
    );
  });
  it('a detached typed array of weights is a typed error (Float64Array.from threw an uncoded TypeError)', () => {
    const u = new Float32Array(4);
    const w = new Float64Array([1, 2]);
    structuredClone(w.buffer, { transfer: [w.buffer] });
    expectCode(() => weightedSum([u, u], w), 'ERR_DPFL_INVALID_TYPE', /^weights must be .*\(attached\)/);
  });
});

describe('sizes are checked before any output is allocated', () => {
  it('nn kernels refuse products that cannot be allocated, with a typed error', () => {
    const z = new Float32Array(0);
    expectCode(
      () => nn.denseForward(z, z, null, 2 ** 20, 2 ** 20, 2 ** 20),
      'ERR_DPFL_INVALID_ARGUMENT',
      /^batch × inDim must be at most/,
    );
    expectCode(
      () => nn.denseBackwardInput(z, new Float32Array(4), 2 ** 40, 2, 2),
      'ERR_DPFL_INVALID_ARGUMENT',
      /must be at most/,
    );
    expectCode(() => nn.rowSqNorms(z, 2 ** 33, 1), 'ERR_DPFL_INVALID_ARGUMENT', /^batch × dim must be at most/);
    // Consistent counts but a wrong input: the input is refused, no 2^32-element output is allocated first.
    expectCode(
      () => nn.denseForward(z, new Float32Array(1), null, 2 ** 31, 1, 1),
      'ERR_DPFL_INVALID_ARGUMENT',
      /^x.length must be 2147483648/,
    );
  });

  it('Aggregator refuses a dim it could never hold instead of a plain "out of memory" Error', () => {
    expectCode(() => new Aggregator(2 ** 40), 'ERR_DPFL_INVALID_ARGUMENT', /^dim must be at most/);
  });

  it('models and layers refuse parameter counts that cannot be allocated', () => {
    expectCode(
      () => createModel({ kind: 'linear', input: 'dense', inputDim: 2 ** 40, classes: 2 }),
      'ERR_DPFL_INVALID_ARGUMENT',
      /parameter count must be at most/,
    );
    expectCode(
      () => new Dense('d', 2 ** 30, 2 ** 30),
      'ERR_DPFL_INVALID_ARGUMENT',
      /^the Dense parameter count must be at most/,
    );
    expectCode(() => new Dense('d', -1, 2), 'ERR_DPFL_INVALID_ARGUMENT', /^inDim must be a positive integer/);
    expectCode(() => new Sequential([], 'dense', 2, 0), 'ERR_DPFL_INVALID_TYPE', /^layers must be a non-empty array/);
    expectCode(
      () => createModel({ kind: 'mlp', input: 'dense', inputDim: 2, classes: 2, hidden: 3 as never }),
      'ERR_DPFL_INVALID_TYPE',
      /^spec.hidden must be an array/,
    );
    const model = createModel({ kind: 'linear', input: 'dense', inputDim: 2, classes: 2 });
    expectCode(
      () => model.forward({ size: -1, x: new Float32Array(0), labels: new Int32Array(0) }),
      'ERR_DPFL_INVALID_ARGUMENT',
      /^batch.size must be a non-negative integer/,
    );
    expectCode(
      () => model.forward({ size: 1, labels: new Int32Array(1) }),
      'ERR_DPFL_INVALID_TYPE',
      /^batch.x must be a Float32Array/,
    );
    const text = createModel({ kind: 'linear', input: 'bags', inputDim: 4, classes: 2, combiner: 'sqrtn' });
    const bags = { indices: new Proxy(Int32Array.from([1]), {}), offsets: Int32Array.from([0, 1]) };
    expectCode(
      () => text.forward({ size: 1, bags, labels: new Int32Array(1) } as never),
      'ERR_DPFL_INVALID_TYPE',
      /^bags.indices must be an Int32Array/,
    );
  });
});

describe('data: options checked before generating', () => {
  it('syntheticBags without classes is refused (it looped forever in Random.below(undefined))', () => {
    expectCode(
      () => syntheticBags({ size: 2, rows: 2, tokensPerExample: 2 } as never),
      'ERR_DPFL_INVALID_TYPE',
      /^options.classes must be a positive integer/,
    );
    expectCode(
      () => syntheticDense({ size: 2 ** 30, dim: 2 ** 30, classes: 2 }),
      'ERR_DPFL_INVALID_ARGUMENT',
      /^options.size × options.dim must be at most/,
    );
    expectCode(() => syntheticDense(null as never), 'ERR_DPFL_INVALID_TYPE', /^options must be an object/);
  });

  it('gatherBatch refuses a dataset whose offsets decrease instead of an untyped RangeError', () => {
    const ds = syntheticBags({ size: 3, rows: 4, classes: 2, tokensPerExample: 2 });
    const offsets = Int32Array.from([0, 4, 2, 6]);
    expectCode(
      () => gatherBatch({ ...ds, offsets }, Int32Array.from([1])),
      'ERR_DPFL_INVALID_ARGUMENT',
      /^ds.offsets\[2\] must be in/,
    );
    expectCode(
      () => gatherBatch(null as never, Int32Array.from([0])),
      'ERR_DPFL_INVALID_TYPE',
      /^ds must be a Dataset/,
    );
  });
});

describe('accounting entry (a few lines at the entry of analytic-gaussian.ts)', () => {
  it('gaussianEpsilon refuses a negative mu or delta instead of looping forever', () => {
    expectCode(() => gaussianEpsilon(-1, -2.3e55), 'ERR_DPFL_INVALID_ARGUMENT', /^mu must be a finite number > 0/);
    expectCode(() => gaussianEpsilon(1, -1), 'ERR_DPFL_INVALID_ARGUMENT', /^delta must be in \(0, 1\)/);
    expect(gaussianEpsilon(1, 1e-5)).toBeGreaterThan(0);
  });
});

describe('checkpoint paths (a few lines at the entry of dpsgd/checkpoint.ts)', () => {
  it('loadCheckpoint refuses a number, which node:fs would read as a file descriptor (and block on a pipe)', () => {
    expectCode(
      () => loadCheckpoint(5 as never),
      'ERR_DPFL_INVALID_TYPE',
      /^file must be a path \(string\), received 5/,
    );
  });
});
