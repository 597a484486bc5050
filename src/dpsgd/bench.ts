// Private vs non-private step time of a built-in model, measured in one process on synthetic data
// of the model's shape: the same forward and backward, plus (private) ghost norms, clipping
// factors, the re-weighted backward, secure Gaussian noise over every parameter and the
// accountant. Steps of the two kinds are interleaved so machine noise hits both alike.
import { performance } from 'node:perf_hooks';
import { Accountant, poissonSampledGaussian } from '../accounting/index.js';
import { gatherBatch, syntheticBags, syntheticDense, type Dataset } from '../data/index.js';
import { invalidArgument } from '../errors.js';
import { createModel, type ModelSpec } from '../models/zoo.js';
import { DpOptimizer } from './optimizer.js';

export interface BenchDpsgdOptions {
  model: 'linear' | 'mlp' | 'text';
  batchSize: number;
  steps: number;
}

export interface BenchDpsgdResult {
  msPerStepPrivate: number;
  msPerStepNonPrivate: number;
  ratio: number;
  model: string;
  params: number;
  batchSize: number;
  steps: number;
}

const HASH_ROWS = 2 ** 18;

function shape(model: BenchDpsgdOptions['model'], batch: number): { spec: ModelSpec; data: Dataset } {
  switch (model) {
    case 'mlp':
      return { spec: { kind: 'mlp', input: 'dense', inputDim: 784, classes: 10, hidden: [512, 256] }, data: syntheticDense({ size: batch, dim: 784, classes: 10, seed: 1 }) };
    case 'text':
      return { spec: { kind: 'text', input: 'bags', inputDim: HASH_ROWS, classes: 2, hidden: [64, 64] }, data: syntheticBags({ size: batch, rows: HASH_ROWS, classes: 2, tokensPerExample: 256, seed: 1 }) };
    case 'linear':
      return { spec: { kind: 'linear', input: 'bags', inputDim: HASH_ROWS, classes: 2 }, data: syntheticBags({ size: batch, rows: HASH_ROWS, classes: 2, tokensPerExample: 256, seed: 1 }) };
    default:
      throw invalidArgument('model', '"linear", "mlp" or "text"', model);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function benchDpsgd(opts: BenchDpsgdOptions): Promise<BenchDpsgdResult> {
  const { batchSize, steps } = opts;
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0) throw invalidArgument('batchSize', 'a positive integer', batchSize);
  if (!Number.isSafeInteger(steps) || steps <= 0) throw invalidArgument('steps', 'a positive integer', steps);
  const { spec, data } = shape(opts.model, batchSize);
  const rows = Int32Array.from({ length: batchSize }, (_, i) => i);
  const batch = gatherBatch(data, rows);
  const privModel = createModel(spec, 1);
  const plainModel = createModel(spec, 1);
  const update = { kind: 'sgd' as const, lr: 0.05, momentum: 0.9 };
  const q = 0.01;
  // Secure noise (no seed), Poisson event, accountant recording every step: a production step.
  const dp = new DpOptimizer({
    params: privModel.params,
    groupEnds: privModel.groupEnds,
    maxGradNorm: 1,
    noiseMultiplier: 1,
    expectedBatchSize: batchSize,
    event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: q }),
    update,
    accountant: new Accountant(),
  });
  const plain = new DpOptimizer({ params: plainModel.params, maxGradNorm: 1, noiseMultiplier: 1, expectedBatchSize: batchSize, event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: q }), update });
  const grad = new Float32Array(plainModel.paramCount);
  const privateStep = () => {
    privModel.forwardBackward(batch);
    dp.accumulateModel(privModel, batch.size);
    dp.step();
  };
  const plainStep = () => {
    plainModel.forwardBackward(batch);
    plainModel.backwardParams(grad, plainModel.groups.map(() => null), false);
    plain.stepNonPrivate(grad, batch.size);
  };
  for (let i = 0; i < 2; i++) {
    privateStep();
    plainStep();
  }
  const tp: number[] = [];
  const tn: number[] = [];
  for (let i = 0; i < steps; i++) {
    let t = performance.now();
    plainStep();
    tn.push(performance.now() - t);
    t = performance.now();
    privateStep();
    tp.push(performance.now() - t);
    await new Promise((r) => setImmediate(r));
  }
  const msPerStepPrivate = median(tp);
  const msPerStepNonPrivate = median(tn);
  return { msPerStepPrivate, msPerStepNonPrivate, ratio: msPerStepPrivate / msPerStepNonPrivate, model: opts.model, params: privModel.paramCount, batchSize, steps };
}
