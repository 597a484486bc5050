// The TypeScript side of the bench: every kernel of the grid through the public API, and the
// plain TypeScript baseline on the same data, in this process. Inputs are allocated once per
// shape (outside the timed calls) and released before the next shape.
import { Aggregator, weightedSum, weightedSumAsync } from '../kernels/aggregate.js';
import { clipAndSum, clipAndSumAsync } from '../kernels/clip.js';
import { addGaussianNoise, addGaussianNoiseAsync } from '../kernels/noise.js';
import { tsAccumulate, tsClipAndSum, tsNoiseFast, tsNoiseSecure, tsWeightedSum } from './baselines.js';
import { accumulatorBytes, clipBytes, noiseBytes, weightedSumBytes, type ByteModel } from './bytes.js';
import { uniformArray } from './data.js';
import {
  aggregateShapes,
  clipNorms,
  clipShapes,
  layerGroupEnds,
  noiseLengths,
  shapeId,
  wanted,
  type KernelName,
} from './grid.js';
import { freeMemory } from './memory.js';
import {
  timeAsync,
  timeCold,
  timeSync,
  type ColdOptions,
  type ColdTiming,
  type TimeBudget,
  type TsTiming,
} from './timing.js';

/**
 * api: the public dpfl function with preallocated outputs; api-alloc: the same letting dpfl
 * allocate its outputs, and api-async: its ...Async form (both on the small-call shapes only);
 * ts: the plain TypeScript baseline.
 */
export type TsImpl = 'api' | 'api-alloc' | 'api-async' | 'ts';

export interface TsRow extends TsTiming, ByteModel {
  kernel: KernelName;
  shape: string;
  impl: TsImpl;
  items: number;
  /** Cold calls (timeCold), on impl 'api' when measured; absent in documents before issue 18. */
  cold?: ColdTiming;
}

export interface SuiteOptions {
  quick: boolean;
  filter: string | undefined;
  baselines: boolean;
  /** Time budget per case in ms (default 250 with quick, else 750). */
  timeMs: number | undefined;
  /** Cold calls of each 'api' case (see timeCold). */
  cold: ColdOptions;
  progress: (message: string) => void;
  /**
   * Called before each shape with its wanted "kernel shape" ids, before any of its buffers exist:
   * `dpfl bench` runs the C++ harness for the same cases here, so both sides of a shape are
   * measured within seconds of each other on a machine whose bandwidth drifts.
   */
  beforeShape?: (ids: string[]) => Promise<void>;
}

class Cases {
  readonly rows: TsRow[] = [];
  /** Outputs folded in so no timed call's result is dead; written to the JSON. */
  checksum = 0;
  constructor(readonly o: SuiteOptions) {}

  budget(bytes: number, impl: TsImpl): TimeBudget {
    return { timeMs: this.o.timeMs ?? (this.o.quick ? 250 : 750), minReps: impl === 'ts' || bytes > 2e9 ? 3 : 5 };
  }

  /** Warm calls, then (impl 'api') cold calls; prepare runs before each cold call's idle wait. */
  async time(
    kernel: KernelName,
    shape: string,
    impl: TsImpl,
    model: ByteModel,
    items: number,
    fn: () => unknown,
    prepare?: () => void,
  ): Promise<void> {
    if (impl === 'ts' && !this.o.baselines) return;
    this.o.progress(`TS  ${kernel} ${shape} ${impl}`);
    const t = timeSync(`${kernel} ${shape} ${impl}`, fn, this.budget(model.bytes, impl));
    let cold: ColdTiming | undefined;
    if (impl === 'api' && this.o.cold.samples > 0) {
      this.o.progress(`TS  ${kernel} ${shape} ${impl} cold`);
      cold = await timeCold(fn, this.o.cold, prepare);
    }
    this.rows.push({ kernel, shape, impl, items, ...model, ...t, ...(cold === undefined ? {} : { cold }) });
  }

  async timeAsync(
    kernel: KernelName,
    shape: string,
    model: ByteModel,
    items: number,
    fn: () => Promise<unknown>,
  ): Promise<void> {
    this.o.progress(`TS  ${kernel} ${shape} api-async`);
    const t = await timeAsync(`${kernel} ${shape} api-async`, fn, this.budget(model.bytes, 'api-async'));
    this.rows.push({ kernel, shape, impl: 'api-async', items, ...model, ...t });
  }
}

async function clipCases(c: Cases): Promise<void> {
  for (const { batch, dim } of clipShapes(c.o.quick)) {
    const shape = shapeId(batch, dim);
    const kernels = (['clip_flat', 'clip_grouped'] as const).filter((k) => wanted(c.o.filter, k, shape));
    if (kernels.length === 0) continue;
    await c.o.beforeShape?.(kernels.map((k) => `${k} ${shape}`));
    c.o.progress(`TS  clip ${shape}: filling ${((batch * dim * 4) / 1e6).toFixed(0)} MB`);
    const grads = uniformArray(batch * dim, 1);
    const out = new Float32Array(dim);
    const norms = new Float32Array(batch);
    const acc = new Float64Array(dim);
    for (const kernel of kernels) {
      const grouped = kernel === 'clip_grouped';
      const ends = grouped ? layerGroupEnds(dim) : [dim];
      const maxNorms = clipNorms(dim, ends);
      const options = grouped ? { groups: ends, maxNorms, out, norms } : { out, norms };
      const model = clipBytes(batch, dim, grouped ? ends.length : null);
      await c.time(kernel, shape, 'api', model, 0, () => clipAndSum(grads, batch, maxNorms[0]!, options));
      if (shape === '32x1000' && !grouped) {
        await c.time(kernel, shape, 'api-alloc', model, 0, () => clipAndSum(grads, batch, maxNorms[0]!));
        await c.timeAsync(kernel, shape, model, 0, () => clipAndSumAsync(grads, batch, maxNorms[0]!, options));
      }
      await c.time(kernel, shape, 'ts', model, 0, () =>
        tsClipAndSum(grads, batch, dim, ends, maxNorms, acc, out, norms),
      );
      c.checksum += out[dim >> 1]!;
    }
    freeMemory();
  }
}

async function noiseCases(c: Cases): Promise<void> {
  for (const n of noiseLengths()) {
    const shape = shapeId(n);
    const kernels = (['noise_philox', 'noise_secure'] as const).filter((k) => wanted(c.o.filter, k, shape));
    if (kernels.length === 0) continue;
    await c.o.beforeShape?.(kernels.map((k) => `${k} ${shape}`));
    const x = uniformArray(n, 2);
    const model = noiseBytes(n);
    // Re-adding noise to the same buffer is fine: std 1e-3 keeps x far from overflow.
    const std = 1e-3;
    let seed = 0;
    for (const kernel of kernels) {
      if (kernel === 'noise_philox') {
        await c.time(kernel, shape, 'api', model, n, () =>
          addGaussianNoise(x, std, { seed: 42n, stream: 0, offset: 0 }),
        );
        if (shape === '1000')
          await c.timeAsync(kernel, shape, model, n, () => addGaussianNoiseAsync(x, std, { seed: 42n }));
        await c.time(kernel, shape, 'ts', model, n, () => tsNoiseFast(x, std, ++seed));
      } else {
        await c.time(kernel, shape, 'api', model, n, () => addGaussianNoise(x, std));
        await c.time(kernel, shape, 'ts', model, n, () => tsNoiseSecure(x, std));
      }
      c.checksum += x[n >> 1]!;
    }
    freeMemory();
  }
}

async function aggregateCases(c: Cases): Promise<void> {
  for (const { count, dim } of aggregateShapes()) {
    const shape = shapeId(count, dim);
    const kernels = (['weighted_sum', 'accumulator_add'] as const).filter((k) => wanted(c.o.filter, k, shape));
    if (kernels.length === 0) continue;
    await c.o.beforeShape?.(kernels.map((k) => `${k} ${shape}`));
    c.o.progress(`TS  aggregate ${shape}: filling ${((count * dim * 4) / 1e6).toFixed(0)} MB`);
    const updates = uniformArray(count * dim, 3);
    const weights = Float64Array.from({ length: count }, (_, k) => 1 + (k % 7)); // sample counts
    const rows = Array.from({ length: count }, (_, k) => updates.subarray(k * dim, (k + 1) * dim));
    const out = new Float32Array(dim);
    const acc = new Float64Array(dim);
    if (kernels.includes('weighted_sum')) {
      const model = weightedSumBytes(count, dim);
      await c.time('weighted_sum', shape, 'api', model, 0, () =>
        weightedSum(updates, weights, { normalize: true, out }),
      );
      if (shape === '10x1000')
        await c.timeAsync('weighted_sum', shape, model, 0, () =>
          weightedSumAsync(updates, weights, { normalize: true, out }),
        );
      await c.time('weighted_sum', shape, 'ts', model, 0, () => tsWeightedSum(updates, weights, acc, out));
      c.checksum += out[dim >> 1]!;
    }
    if (kernels.includes('accumulator_add')) {
      const model = accumulatorBytes(count, dim);
      // The state keeps accumulating across calls (no reset in the timed region); it stays finite.
      // A cold sample starts a fresh aggregator before the idle wait, as a server does per round.
      let agg = new Aggregator(dim);
      await c.time(
        'accumulator_add',
        shape,
        'api',
        model,
        0,
        () => {
          for (let k = 0; k < count; k++) agg.add(rows[k]!, weights[k]!);
        },
        () => {
          agg = new Aggregator(dim);
        },
      );
      acc.fill(0);
      await c.time('accumulator_add', shape, 'ts', model, 0, () => {
        for (let k = 0; k < count; k++) tsAccumulate(acc, updates, k * dim, weights[k]!);
      });
      c.checksum += agg.result({ normalize: true })[dim >> 1]! + acc[dim >> 1]!;
    }
    freeMemory();
  }
}

/** Runs every wanted case of the grid: one row per (kernel, shape, impl), and the checksum. */
export async function runTsSuite(o: SuiteOptions): Promise<{ rows: TsRow[]; checksum: number }> {
  const c = new Cases(o);
  await clipCases(c);
  await noiseCases(c);
  await aggregateCases(c);
  return { rows: c.rows, checksum: c.checksum };
}
