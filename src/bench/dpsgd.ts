// Private vs non-private step time of a built-in model, measured in one process on synthetic data
// of the model's shape: the same forward and backward, plus (private) ghost norms, clipping
// factors, the re-weighted backward, secure Gaussian noise over every parameter and the
// accountant. The noise draw is also timed alone, and a private step with reproducible (Philox)
// noise, so the report says how much of the gap is noise and how much is per-example work; and a
// naive private step that materialises per-example gradients, which ghost clipping replaces.
import { performance } from 'node:perf_hooks';
import { Accountant, poissonSampledGaussian } from '../accounting/index.js';
import { gatherBatch, syntheticBags, syntheticDense, type Dataset } from '../data/index.js';
import { invalidArgument } from '../errors.js';
import { finiteNumber, positiveFinite, positiveInteger } from '../validate.js';
import { selectFrequentRows } from '../dpsgd/frequent-rows.js';
import { createModel, type ModelSpec } from '../models/zoo.js';
import { median } from './median.js';
import { addGaussianNoise } from '../kernels/noise.js';
import { DpOptimizer } from '../dpsgd/optimizer.js';
import { NonPrivateOptimizer } from '../dpsgd/non-private.js';

export interface BenchDpsgdOptions {
  model: 'linear' | 'mlp' | 'text' | 'embedding-bag';
  batchSize: number;
  steps: number;
  /** embedding-bag: rows of the embedding table (default 50000) and its width (default 64). */
  vocab?: number;
  dim?: number;
  /**
   * Also time DP-AdaFEST private steps (DpOptimizer's sparseEmbeddings, models with an embedding
   * table: text, linear, embedding-bag): σ₁/σ₂ = 1, τ = 5, C₁ = 1.
   */
  sparseEmbeddings?: boolean;
  /** σ of every private step (default 1); spam's ε = 3 run takes 1.77. */
  noiseMultiplier?: number;
  /** Also time DP-FEST steps on this many fixed rows (chosen by selectFrequentRows, σ_f = 5). */
  frequentRows?: number;
  /** DP-AdaFEST's σ₁/σ₂ and τ (defaults BENCH_SPARSE's). */
  sparseRatio?: number;
  sparseThreshold?: number;
}

/** The DP-AdaFEST setting the bench times (the CLI's defaults). */
export const BENCH_SPARSE = { ratio: 1, threshold: 5, contributionClip: 1 } as const;

/** DP-AdaFEST timings (bench dpsgd --sparse-embeddings). */
export interface BenchSparseResult {
  /** Median private step with secure noise only on the selected rows and the dense layers. */
  msPerStepPrivate: number;
  /** msPerStepPrivate / the non-private step of the same run. */
  ratio: number;
  /** Mean embedding rows selected per step, of tableRows. */
  selectedRowsPerStep: number;
  tableRows: number;
  ratio1: number;
  threshold: number;
  contributionClip: number;
}

export interface BenchDpsgdResult {
  /** Median private step: ghost norms, clipping, re-weighted backward, secure noise, update, accountant. */
  msPerStepPrivate: number;
  /** Median non-private step: the same forward, backward and update; no clipping, noise or accounting. */
  msPerStepNonPrivate: number;
  ratio: number;
  /** Median private step with reproducible (seeded Philox) noise instead of secure noise. */
  msPerStepPrivateReproducible: number;
  ratioReproducible: number;
  /**
   * Median private step (secure noise) with prefetchNoise: the next step's noise drawn on a worker
   * thread while this step's batch is processed. Timed over consecutive steps of its own (in the
   * interleaved loop the worker would draw during the other kinds' steps).
   */
  msPerStepPrivatePrefetch: number;
  /** msPerStepPrivatePrefetch / msPerStepNonPrivate. */
  ratioPrefetch: number;
  /** Median time of the step's secure noise draw alone (addGaussianNoise over every parameter). */
  msNoise: number;
  /** (private − noise) / non-private: what the per-example work (ghost clipping) costs. */
  ratioWithoutNoise: number;
  /**
   * Median naive private step: every example's gradient materialised by its own forward and
   * backward into a batch × params matrix, then clipped, summed, noised and applied by the same
   * optimizer. null when that matrix would exceed 1 GiB (materialisedSkipped says so).
   */
  msPerStepMaterialised: number | null;
  /** msPerStepMaterialised / msPerStepPrivate: what ghost clipping saves. */
  speedupVsMaterialised: number | null;
  materialisedSkipped?: string;
  model: string;
  params: number;
  batchSize: number;
  steps: number;
  /** With sparseEmbeddings: the DP-AdaFEST step, timed interleaved with the others. */
  sparse?: BenchSparseResult;
  /** With frequentRows: the DP-FEST step (noise on the fixed rows), timed interleaved with the others. */
  fest?: { msPerStepPrivate: number; ratio: number; rows: number; tableRows: number };
}

const HASH_ROWS = 2 ** 18;
/** Largest per-example gradient matrix the naive baseline may allocate. */
const MATERIALISE_LIMIT_BYTES = 2 ** 30;
/** Naive steps timed (each is tens to hundreds of private steps long). */
const MATERIALISED_STEPS = 5;

function shape(opts: BenchDpsgdOptions, batch: number): { spec: ModelSpec; data: Dataset } {
  switch (opts.model) {
    case 'mlp':
      return {
        spec: { kind: 'mlp', input: 'dense', inputDim: 784, classes: 10, hidden: [512, 256] },
        data: syntheticDense({ size: batch, dim: 784, classes: 10, seed: 1 }),
      };
    case 'text':
      return {
        spec: { kind: 'text', input: 'bags', inputDim: HASH_ROWS, classes: 2, hidden: [64, 64], combiner: 'sqrtn' },
        data: syntheticBags({ size: batch, rows: HASH_ROWS, classes: 2, tokensPerExample: 256, seed: 1 }),
      };
    case 'linear':
      return {
        spec: { kind: 'linear', input: 'bags', inputDim: HASH_ROWS, classes: 2, combiner: 'sqrtn' },
        data: syntheticBags({ size: batch, rows: HASH_ROWS, classes: 2, tokensPerExample: 256, seed: 1 }),
      };
    case 'embedding-bag': {
      // The peer shape: EmbeddingBag(vocab, dim, mode='mean') + Linear(dim, 2), 256 tokens a bag.
      const vocab = opts.vocab ?? 50_000;
      const dim = opts.dim ?? 64;
      return {
        spec: { kind: 'embedding-bag', input: 'bags', inputDim: vocab, classes: 2, hidden: [dim], combiner: 'mean' },
        data: syntheticBags({ size: batch, rows: vocab, classes: 2, tokensPerExample: 256, seed: 1 }),
      };
    }
    default:
      throw invalidArgument('model', '"linear", "mlp", "text" or "embedding-bag"', opts.model);
  }
}

export async function benchDpsgd(opts: BenchDpsgdOptions): Promise<BenchDpsgdResult> {
  const { batchSize, steps } = opts;
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0)
    throw invalidArgument('batchSize', 'a positive integer', batchSize);
  if (!Number.isSafeInteger(steps) || steps <= 0) throw invalidArgument('steps', 'a positive integer', steps);
  for (const key of ['vocab', 'dim'] as const) {
    const v = opts[key];
    if (v !== undefined && (!Number.isSafeInteger(v) || v <= 0)) throw invalidArgument(key, 'a positive integer', v);
  }
  const sigma = positiveFinite('noiseMultiplier', opts.noiseMultiplier ?? 1);
  const sparseSetting = {
    ...BENCH_SPARSE,
    ratio: positiveFinite('sparseRatio', opts.sparseRatio ?? BENCH_SPARSE.ratio),
    threshold: finiteNumber('sparseThreshold', opts.sparseThreshold ?? BENCH_SPARSE.threshold),
  };
  const { spec, data } = shape(opts, batchSize);
  const rows = Int32Array.from({ length: batchSize }, (_, i) => i);
  const batch = gatherBatch(data, rows);
  // DP-FEST's rows: the most frequent of the bench's data (the one batch), as a training run picks them.
  const festSelection = (tableRows: number) =>
    selectFrequentRows(
      batch.bags!,
      tableRows,
      { count: Math.min(festRows!, tableRows), noiseMultiplier: 5 },
      { seed: 1 },
    );
  const update = { kind: 'sgd' as const, lr: 0.05, momentum: 0.9 };
  const q = 0.01;
  const event = (s: number) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: q });
  // A production step: secure noise (no seed), Poisson event, the accountant recording every step.
  const selected: number[] = [];
  const festRows = opts.frequentRows === undefined ? undefined : positiveInteger('frequentRows', opts.frequentRows);
  const privateRun = (seed?: number, sparse = false, prefetchNoise = false, fest = false) => {
    const model = createModel(spec, 1);
    const table = model.embeddingTable;
    if ((sparse || fest) && table === undefined) {
      throw invalidArgument('sparseEmbeddings', 'true only for a model with an embedding table', opts.model);
    }
    const dp = new DpOptimizer({
      params: model.params,
      groupEnds: model.groupEnds,
      maxGradNorm: 1,
      noiseMultiplier: sigma,
      expectedBatchSize: batchSize,
      event,
      update,
      accountant: new Accountant(),
      prefetchNoise,
      ...(seed === undefined ? {} : { seed }),
      ...(sparse ? { sparseEmbeddings: { ...sparseSetting, table: table! } } : {}),
      ...(fest ? { sparseEmbeddings: { table: table!, rows: festSelection(table!.rows) } } : {}),
    });
    return () => {
      model.forwardBackward(batch);
      dp.accumulateModel(model, batch.size);
      const r = dp.step();
      if (sparse) selected.push(r.selectedRows!);
    };
  };
  // Naive DP-SGD (per-example gradients materialised, as per-sample hooks or microbatches of one
  // do), through the optimizer's per-example path: the baseline ghost clipping is measured against.
  const materialisedRun = () => {
    const model = createModel(spec, 1);
    const dp = new DpOptimizer({
      params: model.params,
      maxGradNorm: 1,
      noiseMultiplier: 1,
      expectedBatchSize: batchSize,
      event,
      update,
      accountant: new Accountant(),
    });
    const d = model.paramCount;
    const grads = new Float32Array(batchSize * d);
    const singles = Array.from(rows, (r) => gatherBatch(data, Int32Array.of(r)));
    const ones = model.groups.map(() => null);
    return () => {
      singles.forEach((one, r) => {
        model.forwardBackward(one);
        model.backwardParams(grads.subarray(r * d, (r + 1) * d), ones, false);
      });
      dp.accumulatePerSampleGrads(grads, batchSize);
      dp.step();
    };
  };
  const plainModel = createModel(spec, 1);
  const materialisedBytes = batchSize * plainModel.paramCount * 4;
  const materialised = materialisedBytes <= MATERIALISE_LIMIT_BYTES ? materialisedRun() : null;
  const plain = new NonPrivateOptimizer({ params: plainModel.params, update });
  const kinds = {
    private: privateRun(),
    reproducible: privateRun(1),
    ...(opts.sparseEmbeddings === true ? { sparse: privateRun(undefined, true) } : {}),
    ...(festRows !== undefined ? { fest: privateRun(undefined, false, false, true) } : {}),
    plain: () => {
      plainModel.forwardBackward(batch);
      plain.accumulateModel(plainModel, batch.size);
      plain.step();
    },
    noise: (() => {
      const buf = new Float32Array(plainModel.paramCount);
      return () => void addGaussianNoise(buf, 1);
    })(),
  };
  const times: Record<string, number[]> = { private: [], reproducible: [], plain: [], noise: [], sparse: [], fest: [] };
  for (let i = 0; i < 2; i++) for (const run of Object.values(kinds)) run();
  // Interleaved, so machine noise hits every kind alike.
  for (let i = 0; i < steps; i++) {
    for (const [name, run] of Object.entries(kinds) as [string, () => void][]) {
      const t = performance.now();
      run();
      times[name]!.push(performance.now() - t);
    }
    await new Promise((r) => setImmediate(r));
  }
  // After the others: its gigabyte of per-example gradients would evict their working sets.
  const materialisedTimes: number[] = [];
  if (materialised !== null) {
    materialised();
    for (let i = 0; i < MATERIALISED_STEPS; i++) {
      const t = performance.now();
      materialised();
      materialisedTimes.push(performance.now() - t);
    }
  }
  // Consecutive steps: what a training loop with prefetched noise sees.
  const prefetched = privateRun(undefined, false, true);
  const prefetchTimes: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const t = performance.now();
    prefetched();
    if (i >= 2) prefetchTimes.push(performance.now() - t); // two warm-up steps, as above
  }
  const msPerStepPrivatePrefetch = median(prefetchTimes);
  const msPerStepPrivate = median(times.private!);
  const msPerStepNonPrivate = median(times.plain!);
  const msPerStepPrivateReproducible = median(times.reproducible!);
  const msNoise = median(times.noise!);
  const sparseMs = opts.sparseEmbeddings === true ? median(times.sparse!) : null;
  const sparse: BenchSparseResult | undefined =
    sparseMs === null
      ? undefined
      : {
          msPerStepPrivate: sparseMs,
          ratio: sparseMs / msPerStepNonPrivate,
          selectedRowsPerStep: selected.reduce((a, b) => a + b, 0) / selected.length,
          tableRows: plainModel.embeddingTable!.rows,
          ratio1: sparseSetting.ratio,
          threshold: sparseSetting.threshold,
          contributionClip: BENCH_SPARSE.contributionClip,
        };
  const msPerStepMaterialised = materialised === null ? null : median(materialisedTimes);
  return {
    msPerStepPrivate,
    msPerStepNonPrivate,
    ratio: msPerStepPrivate / msPerStepNonPrivate,
    msPerStepPrivateReproducible,
    ratioReproducible: msPerStepPrivateReproducible / msPerStepNonPrivate,
    msPerStepPrivatePrefetch,
    ratioPrefetch: msPerStepPrivatePrefetch / msPerStepNonPrivate,
    msNoise,
    ratioWithoutNoise: (msPerStepPrivate - msNoise) / msPerStepNonPrivate,
    msPerStepMaterialised,
    speedupVsMaterialised: msPerStepMaterialised === null ? null : msPerStepMaterialised / msPerStepPrivate,
    ...(materialised === null
      ? {
          materialisedSkipped: `per-example gradients would take ${(materialisedBytes / 2 ** 30).toFixed(2)} GiB (limit 1 GiB)`,
        }
      : {}),
    model: opts.model,
    params: plainModel.paramCount,
    batchSize,
    steps,
    ...(sparse === undefined ? {} : { sparse }),
    ...(festRows === undefined
      ? {}
      : {
          fest: {
            msPerStepPrivate: median(times.fest!),
            ratio: median(times.fest!) / msPerStepNonPrivate,
            rows: Math.min(festRows, plainModel.embeddingTable!.rows),
            tableRows: plainModel.embeddingTable!.rows,
          },
        }),
  };
}
