// DP-AdaFEST (sparseEmbeddings): noise only on the rows a noisy contribution map selects, one
// accounted event per step at σ, the dense path's bits when every row is selected, typed errors.
import { describe, expect, it } from 'vitest';
import { Accountant, composed, gaussian, poissonSampledGaussian, selfComposed } from '../../src/accounting/index.js';
import { normalSf } from '../../src/accounting/special.js';
import { DpOptimizer, type UpdateRule } from '../../src/dpsgd/index.js';
import {
  ContributionMap,
  splitNoiseMultiplier,
  type AdaptiveSparseEmbeddingsOptions,
  type SparseEmbeddingsOptions,
} from '../../src/dpsgd/sparse-embeddings.js';
import { Random } from '../../src/data/random.js';
import { gatherBatch, syntheticBags, syntheticDense } from '../../src/data/index.js';
import { addGaussianNoise } from '../../src/kernels/noise.js';
import { createModel } from '../../src/models/index.js';
import type { Sequential } from '../../src/models/sequential.js';

const ROWS = 20_000;
const DIM = 8;
const B = 512;
const Q = 0.01;
const event = (s: number) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: Q });

function setup(
  sparse: Omit<AdaptiveSparseEmbeddingsOptions, 'table'> | null,
  opts: { sigma?: number; update?: UpdateRule; seed?: number; kind?: 'embedding-bag' | 'text' | 'linear' } = {},
): { model: Sequential; opt: DpOptimizer; batch: ReturnType<typeof gatherBatch> } {
  const kind = opts.kind ?? 'embedding-bag';
  const model = createModel({ kind, input: 'bags', inputDim: ROWS, classes: 2, hidden: [DIM, 6] }, 3);
  // Half of each example's 40 tokens come from its class's 64 rows: 128 heavily used rows.
  const data = syntheticBags({ size: B, rows: ROWS, classes: 2, tokensPerExample: 40, seed: 5 });
  const batch = gatherBatch(
    data,
    Int32Array.from({ length: B }, (_, i) => i),
  );
  const opt = new DpOptimizer({
    params: model.params,
    groupEnds: model.groupEnds,
    maxGradNorm: 1,
    noiseMultiplier: opts.sigma ?? 1,
    expectedBatchSize: B,
    event,
    update: opts.update ?? { kind: 'sgd', lr: 0.5 },
    seed: opts.seed ?? 11,
    ...(sparse === null ? {} : { sparseEmbeddings: { table: model.embeddingTable!, ...sparse } }),
  });
  return { model, opt, batch };
}

/** Bit equality (NaN-safe, fast on large arrays). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  const [x, y] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function trainStep(s: ReturnType<typeof setup>) {
  s.model.forwardBackward(s.batch);
  s.opt.accumulateModel(s.model, s.batch.size);
  return s.opt.step();
}

describe('splitNoiseMultiplier', () => {
  it('splits σ into σ₁ = r·σ₂ with σ₁⁻² + σ₂⁻² = σ⁻²', () => {
    for (const [sigma, r] of [
      [1, 1],
      [0.7, 0.1],
      [3, 10],
    ] as const) {
      const { selection, gradient } = splitNoiseMultiplier(sigma, r);
      expect(selection / gradient).toBeCloseTo(r, 12);
      expect(selection ** -2 + gradient ** -2).toBeCloseTo(sigma ** -2, 12);
    }
  });
});

describe('DP-AdaFEST accounting', () => {
  it("charges one subsampled Gaussian at σ per step: the ledger's ε is that event's", () => {
    const s = setup({ ratio: 0.5, threshold: 3 }, { sigma: 1.3 });
    for (let i = 0; i < 4; i++) trainStep(s);
    const ref = new Accountant();
    ref.step(selfComposed(poissonSampledGaussian({ noiseMultiplier: 1.3, sampleRate: Q }), 4));
    expect(s.opt.accountant.epsilon(1e-5)).toBe(ref.epsilon(1e-5));
    expect(s.opt.gradientNoiseMultiplier()).toBeCloseTo(1.3 * Math.sqrt(5), 12);
    expect(s.opt.selectionNoiseMultiplier()).toBeCloseTo(1.3 * Math.sqrt(1.25), 12);
  });

  it('is the composition of the two Gaussians (σ₁ on the map, σ₂ on the gradient) without sampling', () => {
    // q = 1: the pair of releases is exactly one Gaussian at (σ₁⁻² + σ₂⁻²)^(-1/2) = σ.
    const { selection, gradient } = splitNoiseMultiplier(0.9, 2);
    for (const kind of ['rdp', 'pld'] as const) {
      const pair = new Accountant({ accountant: kind });
      pair.step(
        selfComposed(composed([gaussian({ noiseMultiplier: selection }), gaussian({ noiseMultiplier: gradient })]), 10),
      );
      const one = new Accountant({ accountant: kind });
      one.step(selfComposed(gaussian({ noiseMultiplier: 0.9 }), 10));
      expect(pair.epsilon(1e-6)).toBeCloseTo(one.epsilon(1e-6), kind === 'rdp' ? 9 : 2);
    }
  });
});

describe('DP-AdaFEST noise and selection', () => {
  it('noises only the selected rows, selects the heavily used rows, and false positives match Φ̄(τ/σ₁)', () => {
    const threshold = 3;
    const s = setup({ ratio: 1, threshold }, { update: { kind: 'none' } });
    const d = s.model.paramCount;
    const report = trainStep(s);
    const g = s.opt.noisyGradient;
    const table = g.subarray(0, ROWS * DIM);
    const selected: number[] = [];
    for (let j = 0; j < ROWS; j++) {
      const row = table.subarray(j * DIM, (j + 1) * DIM);
      if (row.some((x) => x !== 0)) selected.push(j);
    }
    expect(report.selectedRows).toBe(selected.length);
    // The 128 class rows (0..63 and 10000..10063) are each in ~70 of the 512 bags (count ≈ 12): all selected.
    const heavy = [...Array(64).keys()].flatMap((i) => [i, ROWS / 2 + i]);
    for (const j of heavy) expect(selected).toContain(j);
    // Rows no bag touches (count exactly 0) are selected by noise alone, each with probability Φ̄(τ/σ₁).
    const used = new Set(s.batch.bags!.indices);
    const untouched = [...Array(ROWS).keys()].filter((j) => !used.has(j));
    const p = normalSf(threshold / s.opt.selectionNoiseMultiplier()!);
    const n = untouched.length;
    const hits = untouched.filter((j) => selected.includes(j)).length;
    expect(n).toBeGreaterThan(5000);
    expect(Math.abs(hits - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
    // Seeded: the gathered rows get the dense path's samples from the table's first position.
    const z = addGaussianNoise(new Float32Array(selected.length * DIM), s.opt.gradientNoiseMultiplier(0), {
      seed: 11,
      stream: 0,
      offset: 0 * d,
    });
    // Selected rows: (clipped sum + those samples) / B; the clipped sum from a dense run with negligible noise.
    const ref = setup(null, { update: { kind: 'none' }, sigma: 1e-12 });
    trainStep(ref);
    const clipped = ref.opt.noisyGradient;
    let worst = 0;
    selected.forEach((j, i) => {
      for (let k = 0; k < DIM; k++) {
        const want = clipped[j * DIM + k]! * B + z[i * DIM + k]!;
        worst = Math.max(worst, Math.abs(table[j * DIM + k]! * B - want));
      }
    });
    // float32 rounding of values of a few units, twice (the sum, then ÷ B).
    expect(worst).toBeLessThan(1e-5);
    // Outside the table (the dense layer): full noise.
    const dense = g.subarray(ROWS * DIM);
    expect(dense.every((x) => x !== 0)).toBe(true);
  });

  it('gives the dense path its bits when every row is selected (dense at σ₂, the same seed)', () => {
    for (const update of [
      { kind: 'sgd', lr: 0.5 },
      { kind: 'sgd', lr: 0.5, momentum: 0.9 },
      { kind: 'adam', lr: 0.01 },
    ] as UpdateRule[]) {
      for (const kind of ['embedding-bag', 'text', 'linear'] as const) {
        const sparse = setup({ ratio: 2, threshold: -1e30 }, { update, kind });
        const sigma2 = sparse.opt.gradientNoiseMultiplier();
        const dense = setup(null, { update, kind, sigma: sigma2 });
        for (let i = 0; i < 3; i++) {
          expect(trainStep(sparse).selectedRows).toBe(ROWS);
          trainStep(dense);
        }
        expect(sameBits(sparse.model.params, dense.model.params)).toBe(true);
      }
    }
  });

  it('leaves the table untouched under plain SGD when no row is selected; the dense layers still move', () => {
    const s = setup({ ratio: 1, threshold: 1e30 });
    const before = s.model.params.slice();
    const report = trainStep(s);
    expect(report.selectedRows).toBe(0);
    const table = ROWS * DIM;
    expect(sameBits(s.model.params.subarray(0, table), before.subarray(0, table))).toBe(true);
    expect(s.model.params.subarray(table).some((x, i) => x !== before[table + i])).toBe(true);
  });

  it('under plain SGD moves exactly the selected rows of the table', () => {
    const s = setup({ ratio: 1, threshold: 3 });
    const before = s.model.params.slice();
    const report = trainStep(s);
    let moved = 0;
    for (let j = 0; j < ROWS; j++) {
      if (s.model.params.subarray(j * DIM, (j + 1) * DIM).some((x, k) => x !== before[j * DIM + k])) moved++;
    }
    expect(moved).toBe(report.selectedRows);
    expect(moved).toBeGreaterThan(100);
  });

  it('releases zeros on every unselected row under momentum and Adam, also for a virtual batch of two parts', () => {
    for (const update of [
      { kind: 'sgd', lr: 0.5, momentum: 0.9 },
      { kind: 'adam', lr: 0.01 },
    ] as UpdateRule[]) {
      const s = setup({ ratio: 1, threshold: 3 }, { update });
      const before = s.model.params.slice();
      for (const half of [0, 1]) {
        const part = gatherBatch(
          syntheticBags({ size: B, rows: ROWS, classes: 2, tokensPerExample: 40, seed: 5 }),
          Int32Array.from({ length: B / 2 }, (_, i) => i + (half * B) / 2),
        );
        s.model.forwardBackward(part);
        s.opt.accumulateModel(s.model, part.size);
      }
      const report = s.opt.step();
      // The first step from zero state moves a row iff its released gradient is non-zero: the
      // selected rows (noised), and no other row the batch touched.
      let moved = 0;
      for (let j = 0; j < ROWS; j++) {
        if (s.model.params.subarray(j * DIM, (j + 1) * DIM).some((x, k) => x !== before[j * DIM + k])) moved++;
      }
      expect(moved).toBe(report.selectedRows);
      expect(moved).toBeGreaterThan(100);
    }
  });

  it('an empty batch still takes a step: rows selected by noise alone, the ledger charged', () => {
    const s = setup({ ratio: 0.2, threshold: 0 });
    const r = s.opt.step();
    // Threshold 0 on pure noise: about half the rows.
    expect(Math.abs(r.selectedRows! - ROWS / 2)).toBeLessThan(5 * Math.sqrt(ROWS / 4));
    expect(s.opt.steps).toBe(1);
  });

  it('discardBatch drops the map: the next step selects from noise alone', () => {
    const a = setup({ ratio: 1, threshold: 3 });
    a.model.forwardBackward(a.batch);
    a.opt.accumulateModel(a.model, B);
    a.opt.discardBatch();
    const b = setup({ ratio: 1, threshold: 3 });
    expect(a.opt.step().selectedRows).toBe(b.opt.step().selectedRows);
  });

  it('reproduces itself under a seed and uses secure noise without one', () => {
    const x = setup({ ratio: 1, threshold: 3 });
    const y = setup({ ratio: 1, threshold: 3 });
    trainStep(x);
    trainStep(y);
    expect(sameBits(x.model.params, y.model.params)).toBe(true);
    const model = createModel({ kind: 'embedding-bag', input: 'bags', inputDim: ROWS, classes: 2, hidden: [DIM] }, 3);
    const secure = new DpOptimizer({
      params: model.params,
      maxGradNorm: 1,
      noiseMultiplier: 1,
      expectedBatchSize: B,
      event,
      update: { kind: 'sgd', lr: 0.5 },
      sparseEmbeddings: { table: model.embeddingTable!, ratio: 1, threshold: 3 },
    });
    model.forwardBackward(x.batch);
    secure.accumulateModel(model, B);
    expect(secure.step().selectedRows).toBeGreaterThan(100);
  });
});

describe('DP-AdaFEST typed errors', () => {
  const model = createModel({ kind: 'embedding-bag', input: 'bags', inputDim: 50, classes: 2, hidden: [4] }, 1);
  const base = {
    params: model.params,
    maxGradNorm: 1,
    noiseMultiplier: 1,
    expectedBatchSize: 4,
    event,
    update: { kind: 'sgd' as const, lr: 0.1 },
  };
  const make = (sparseEmbeddings: unknown, extra: object = {}) =>
    new DpOptimizer({ ...base, ...extra, sparseEmbeddings: sparseEmbeddings as SparseEmbeddingsOptions });
  const table = model.embeddingTable!;

  it.each([
    [{ table, ratio: 0, threshold: 1 }, 'sparseEmbeddings.ratio'],
    [{ table, ratio: Number.NaN, threshold: 1 }, 'sparseEmbeddings.ratio'],
    [{ table, ratio: 1, threshold: Number.POSITIVE_INFINITY }, 'sparseEmbeddings.threshold'],
    [{ table, ratio: 1, threshold: '3' }, 'sparseEmbeddings.threshold'],
    [{ table, ratio: 1, threshold: 1, contributionClip: -1 }, 'sparseEmbeddings.contributionClip'],
    [{ table: { offset: 0, rows: 60, dim: 4 }, ratio: 1, threshold: 1 }, 'sparseEmbeddings.table'],
    [{ table: { offset: -1, rows: 5, dim: 4 }, ratio: 1, threshold: 1 }, 'sparseEmbeddings.table.offset'],
    [{ ratio: 1, threshold: 1 }, 'sparseEmbeddings.table'],
    [null, 'sparseEmbeddings'],
    [{ table, rows: [0, 2], ratio: 1 }, 'sparseEmbeddings.ratio'],
    [{ table, rows: [2, 2] }, 'sparseEmbeddings.rows[1]'],
    [{ table, rows: [0, 50] }, 'sparseEmbeddings.rows[1]'],
    [{ table, rows: [-1] }, 'sparseEmbeddings.rows[0]'],
    [{ table, rows: 'all' }, 'sparseEmbeddings.rows'],
  ])('refuses %j naming %s', (options, name) => {
    expect(() => make(options)).toThrow(expect.objectContaining({ message: expect.stringContaining(name) }));
    try {
      make(options);
    } catch (e) {
      expect((e as { code?: string }).code).toMatch(/^ERR_DPFL_/);
    }
  });

  it('refuses adaptive clipping, the per-example paths and a model without the table', () => {
    expect(() => make({ table, ratio: 1, threshold: 1 }, { clipping: 'adaptive' })).toThrow(/sparseEmbeddings/);
    // Its noise depends on the step's selection: there is nothing to draw ahead.
    expect(() => make({ table, ratio: 1, threshold: 1 }, { prefetchNoise: true })).toThrow(
      'prefetchNoise must be false with sparseEmbeddings',
    );
    const opt = make({ table, ratio: 1, threshold: 1 });
    expect(() => opt.accumulatePerSampleGrads(new Float32Array(model.paramCount), 1)).toThrow(
      /accumulatePerSampleGrads must be not used under sparseEmbeddings/,
    );
    expect(() => opt.clipFactors(new Float64Array(1), 1)).toThrow(/clipFactors/);
    const dense = createModel({ kind: 'mlp', input: 'dense', inputDim: 3, classes: 2, hidden: [2] }, 1);
    const data = syntheticDense({ size: 2, dim: 3, classes: 2, seed: 1 });
    dense.forwardBackward(gatherBatch(data, Int32Array.of(0, 1)));
    expect(() => opt.accumulateModel(dense, 2)).toThrow(/^model/);
  });
});

describe('dpfl train --sparse-embeddings', () => {
  it('parses the hyper-parameters, refuses them without the flag, and refuses a dense model', async () => {
    const { parseTrainArgs } = await import('../../src/cli/commands/train.js');
    const { createRun } = await import('../../src/dpsgd/run.js');
    const on = parseTrainArgs(['--sparse-embeddings', '--sparse-ratio', '0.5', '--sparse-threshold=-2']);
    expect(on.config.sparseEmbeddings).toEqual({ ratio: 0.5, threshold: -2, contributionClip: 1 });
    expect(parseTrainArgs([]).config.sparseEmbeddings).toBeUndefined();
    expect(() => parseTrainArgs(['--sparse-threshold', '3'])).toThrow(/--sparse-threshold must be given only with/);
    expect(() => parseTrainArgs(['--sparse-embeddings', '--sparse-ratio', '0'])).toThrow(RangeError);
    const data = syntheticDense({ size: 40, dim: 3, classes: 2, seed: 1 });
    const config = { ...parseTrainArgs(['--dataset', 'synthetic', '--model', 'linear', '--sparse-embeddings']).config };
    expect(() => createRun({ ...config, batchSize: 8, epochs: 1 }, data)).toThrow(/config.sparseEmbeddings/);
    const bags = syntheticBags({ size: 200, rows: 500, classes: 2, tokensPerExample: 10, seed: 2 });
    const run = createRun({ ...config, batchSize: 20, epochs: 1, seed: 1 }, bags);
    const r = run.trainer.run(3);
    expect(run.optimizer.steps).toBe(3);
    expect(r).toBeDefined();
  });
});

describe('DP-AdaFEST selection by geometric skips (untouched rows drawn directly)', () => {
  const rows = 40_000;
  const table = { offset: 0, rows, dim: 1 };
  // Bags of one row each: row 7 in 30 examples (count 30 at C₁ = 1), row 100 in 4, row 39_999 in 1.
  const bags = (): { indices: Int32Array; offsets: Int32Array; batch: number } => {
    const idx = [...Array(30).fill(7), ...Array(4).fill(100), 39_999];
    return {
      indices: Int32Array.from(idx),
      offsets: Int32Array.from({ length: idx.length + 1 }, (_, i) => i),
      batch: idx.length,
    };
  };

  it('selects untouched rows at Φ̄(τ/s), uniformly over the table, and touched rows at Φ̄((τ − count)/s)', () => {
    const [threshold, s, trials] = [6, 2.5, 200];
    const map = new ContributionMap({ table, ratio: 1, threshold, contributionClip: 1 });
    const p = normalSf(threshold / s); // 0.0082: the skip path
    const bins = new Float64Array(10);
    const hitsTouched = { 7: 0, 100: 0, 39999: 0 } as Record<number, number>;
    let untouched = 0;
    for (let t = 0; t < trials; t++) {
      const b = bags();
      map.add(b.indices, b.offsets, b.batch);
      const sel = map.select(s, { seed: 3, stream: 2, offset: t * rows }, Random.derive(3, 2, t));
      expect([...sel].every((v, i) => i === 0 || v > sel[i - 1]!)).toBe(true);
      for (const j of sel) {
        if (j in hitsTouched) hitsTouched[j]!++;
        else {
          untouched++;
          bins[Math.floor((j * 10) / rows)]!++;
        }
      }
    }
    const n = (rows - 3) * trials;
    expect(Math.abs(untouched - n * p)).toBeLessThan(4 * Math.sqrt(n * p * (1 - p)));
    // Positions: χ² over 10 equal bins, 9 degrees of freedom (P(χ² > 27.9) = 0.001).
    const e = untouched / 10;
    expect(bins.reduce((acc, o) => acc + (o - e) ** 2 / e, 0)).toBeLessThan(27.9);
    for (const [row, count] of [
      [7, 30],
      [100, 4],
      [39_999, 1],
    ] as const) {
      const q = normalSf((threshold - count) / s);
      expect(Math.abs(hitsTouched[row]! - trials * q)).toBeLessThan(4 * Math.sqrt(trials * q * (1 - q)) + 1);
    }
    // The counts were reset: a fresh select with nothing added selects by noise alone.
    expect(map.touchedRows).toBe(0);
  });

  it('matches the dense draw of Algorithm 2 in distribution (same test on both sides of the switch)', () => {
    // p just above the switch takes the dense path; compare its untouched rate with the skip path's.
    const s = 1;
    const rate = (threshold: number): number => {
      const map = new ContributionMap({ table, ratio: 1, threshold, contributionClip: 1 });
      let hits = 0;
      for (let t = 0; t < 20; t++) hits += map.select(s, { seed: 9, offset: t * rows }, Random.derive(9, t)).length;
      return hits / (20 * rows);
    };
    for (const threshold of [1.6, 1.7]) {
      const p = normalSf(threshold / s); // 0.0548 (dense path), 0.0446 (skips)
      expect(Math.abs(rate(threshold) - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / (20 * rows)));
    }
  });

  it('selects no untouched row when p underflows, and every row when τ is far below 0', () => {
    const map = new ContributionMap({ table, ratio: 1, threshold: 1e6, contributionClip: 1 });
    const b = bags();
    map.add(b.indices, b.offsets, b.batch);
    expect([...map.select(1, { seed: 1 }, new Random(1))]).toEqual([]);
    const all = new ContributionMap({ table, ratio: 1, threshold: -1e30, contributionClip: 1 });
    expect(all.select(1, { seed: 1 }, new Random(1)).length).toBe(rows);
  });
});
