// The guard for the class of "a contribution escapes the bound C": random built-in models (MLPs of
// random widths, embedding-bag models), random optimizer group layouts and clipping rules, one
// step with σ ≈ 0. Each example's contribution (the example run alone, a batch of one) has norm
// ≤ C (per group ≤ C_k under per-layer clipping), plus float rounding; the batch's clipped sum is
// the sum of those contributions. Both the ghost-clipping path (accumulateModel) and the
// per-example path (accumulatePerSampleGrads) are checked. Fixed fast-check seeds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { poissonSampledGaussian } from '../../src/accounting/index.js';
import { DpOptimizer, splitThreshold, type ClippingRule } from '../../src/dpsgd/index.js';
import { createModel, type ModelSpec } from '../../src/models/index.js';
import type { Sequential } from '../../src/models/sequential.js';
import { gatherBatch, syntheticBags, syntheticDense, type Dataset } from '../../src/data/index.js';

/** Float32 rounding of norms, scales and sums: relative slack on C, far below any real escape. */
const RTOL = 1e-5;

const specArb: fc.Arbitrary<ModelSpec> = fc.oneof(
  fc.record({
    kind: fc.constant('mlp' as const),
    input: fc.constant('dense' as const),
    inputDim: fc.integer({ min: 1, max: 12 }),
    classes: fc.integer({ min: 2, max: 5 }),
    hidden: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
    activation: fc.constantFrom('relu' as const, 'tanh' as const),
  }),
  fc.record({
    kind: fc.constant('linear' as const),
    input: fc.constantFrom('dense' as const, 'bags' as const),
    inputDim: fc.integer({ min: 8, max: 20 }), // syntheticBags needs rows ≥ classes
    classes: fc.integer({ min: 2, max: 4 }),
  }),
  fc.record({
    kind: fc.constantFrom('mlp' as const, 'text' as const),
    input: fc.constant('bags' as const),
    inputDim: fc.integer({ min: 8, max: 30 }),
    classes: fc.integer({ min: 2, max: 4 }),
    hidden: fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 6 })).map(([a, b]) => [a, b]),
    combiner: fc.constantFrom('mean' as const, 'sqrtn' as const, 'sum' as const),
  }),
);

type Layout = 'model' | 'coarse' | 'one' | 'foreign';

const caseArb = fc.record({
  spec: specArb,
  batch: fc.integer({ min: 1, max: 5 }),
  dataSeed: fc.integer({ min: 1, max: 1e6 }),
  /** Feature scale: from gradients well inside C to far outside it. */
  scale: fc.constantFrom(0.01, 1, 30, 1000),
  C: fc.constantFrom(1e-3, 0.05, 1, 7),
  rule: fc.constantFrom<ClippingRule['kind']>('flat', 'per-layer', 'adaptive', 'automatic'),
  explicitNorms: fc.boolean(),
  layout: fc.constantFrom<Layout>('model', 'coarse', 'one', 'foreign'),
  pick: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
});

function dataFor(spec: ModelSpec, size: number, seed: number, scale: number): Dataset {
  if (spec.input === 'bags') {
    return syntheticBags({ size, rows: spec.inputDim, classes: spec.classes, tokensPerExample: 1 + (seed % 6), seed });
  }
  const ds = syntheticDense({ size, dim: spec.inputDim, classes: spec.classes, seed });
  if (ds.x) for (let i = 0; i < ds.x.length; i++) ds.x[i]! *= scale;
  return ds;
}

/** Optimizer group ends for a layout: the model's, a coarsening, one group, or a foreign split. */
function layoutEnds(model: Sequential, layout: Layout, pick: boolean[]): readonly number[] | undefined {
  const ends = model.groupEnds;
  const n = model.paramCount;
  if (layout === 'model') return ends;
  if (layout === 'one') return undefined;
  if (layout === 'coarse') return [...ends.slice(0, -1).filter((_, i) => pick[i % pick.length]), n];
  // Foreign: a split that is not a coarsening whenever the model allows one (a cut inside a layer).
  const inside = Math.max(1, Math.floor((ends[0]! * 2) / 3));
  return inside < n && !ends.includes(inside) ? [inside, n] : [n];
}

function isCoarsening(ends: readonly number[] | undefined, model: Sequential): boolean {
  return (ends ?? [model.paramCount]).every((e) => model.groupEnds.includes(e));
}

interface Setup {
  groupEnds: readonly number[] | undefined;
  clipping: ClippingRule;
  C: number;
  /** Thresholds per optimizer group (per-layer), or [C]. */
  bounds: number[];
}

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function setupFor(c: Case, model: Sequential, forPerSampleGrads: boolean): Setup {
  let groupEnds = layoutEnds(model, c.layout, c.pick);
  // The per-example path takes any layout: a foreign one is exactly what it must still bound.
  const n = model.paramCount;
  if (forPerSampleGrads && c.layout === 'foreign' && groupEnds?.length === 1 && n > 1) {
    groupEnds = [Math.floor(n / 2), n];
  }
  const ends = groupEnds ?? [model.paramCount];
  const sizes = ends.map((e, i) => e - (i === 0 ? 0 : ends[i - 1]!));
  let clipping: ClippingRule;
  let bounds: number[] = [c.C];
  if (c.rule === 'per-layer') {
    bounds = c.explicitNorms ? sizes.map((_, k) => c.C * (0.3 + ((k * 7) % 5) / 4)) : splitThreshold(c.C, sizes);
    clipping = c.explicitNorms ? { kind: 'per-layer', maxNorms: bounds } : { kind: 'per-layer' };
  } else if (c.rule === 'adaptive') {
    clipping = { kind: 'adaptive', countNoise: 1 };
  } else if (c.rule === 'automatic') {
    clipping = { kind: 'automatic', gamma: 0.01 };
  } else {
    clipping = { kind: 'flat' };
  }
  return { groupEnds, clipping, C: c.C, bounds };
}

/**
 * One step with σ ≈ 0, lr 1 and divisor 1 into a zero parameter vector (the model keeps its own):
 * afterwards params = −(clipped sum + noise of std 1e-12·C).
 */
function stepOnce(s: Setup, d: number, accumulate: (opt: DpOptimizer) => void): Float64Array {
  const params = new Float32Array(d);
  const opt = new DpOptimizer({
    params,
    ...(s.groupEnds ? { groupEnds: s.groupEnds } : {}),
    maxGradNorm: s.C,
    noiseMultiplier: 1e-12,
    expectedBatchSize: 1,
    event: (z) => poissonSampledGaussian({ noiseMultiplier: z, sampleRate: 0.1 }),
    update: { kind: 'sgd', lr: 1 },
    clipping: s.clipping,
    seed: 3,
  });
  accumulate(opt);
  opt.step();
  return Float64Array.from(params, (v) => -v);
}

function sqNorm(v: Float64Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += v[i]! * v[i]!;
  return s;
}

/** Cases where some example reached 90 % of its bound (the bound was exercised, not idle). */
let tight = 0;

function checkBounds(contribs: Float64Array[], batchSum: Float64Array, s: Setup, d: number): void {
  const ends = s.groupEnds ?? [d];
  const perLayer = s.clipping.kind === 'per-layer';
  const total = perLayer ? Math.hypot(...s.bounds) : s.C;
  const sumAbs = new Float64Array(d);
  if (contribs.some((c) => Math.sqrt(sqNorm(c, 0, d)) >= 0.9 * total)) tight++;
  for (const c of contribs) {
    expect(Math.sqrt(sqNorm(c, 0, d))).toBeLessThanOrEqual(total * (1 + RTOL));
    if (perLayer) {
      ends.forEach((e, k) => {
        expect(Math.sqrt(sqNorm(c, k === 0 ? 0 : ends[k - 1]!, e))).toBeLessThanOrEqual(s.bounds[k]! * (1 + RTOL));
      });
    }
    for (let i = 0; i < d; i++) sumAbs[i]! += Math.abs(c[i]!);
  }
  // The batch's clipped sum is the sum of the examples' contributions (float32 accumulation).
  for (let i = 0; i < d; i++) {
    const ref = contribs.reduce((acc, c) => acc + c[i]!, 0);
    expect(Math.abs(batchSum[i]! - ref)).toBeLessThanOrEqual(RTOL * (sumAbs[i]! + total));
  }
}

describe('every example contributes at most C (random models, layouts and clipping rules)', () => {
  it('ghost clipping: bounded per example, batch = Σ examples; a non-coarsening per-layer layout is refused', () => {
    tight = 0;
    let refused = 0;
    fc.assert(
      fc.property(caseArb, (c) => {
        const model = createModel(c.spec, c.dataSeed);
        const data = dataFor(c.spec, c.batch, c.dataSeed, c.scale);
        const s = setupFor(c, model, false);
        const d = model.paramCount;
        const run = (rows: Int32Array) =>
          stepOnce(s, d, (opt) => {
            model.forwardBackward(gatherBatch(data, rows));
            opt.accumulateModel(model, rows.length);
          });
        const all = Int32Array.from({ length: c.batch }, (_, i) => i);
        if (c.rule === 'per-layer' && !isCoarsening(s.groupEnds, model)) {
          expect(() => run(all)).toThrow(
            /^groupEnds must be the model's groupEnds \[[0-9, ]+\] or a coarsening of them \(per-layer clipping\)/,
          );
          refused++;
          return;
        }
        const contribs = Array.from(all, (r) => run(Int32Array.of(r)));
        checkBounds(contribs, run(all), s, d);
      }),
      { seed: 20261201, numRuns: 200 },
    );
    expect(tight).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(5);
  });

  it('per-example gradients: bounded per example under any layout, batch = Σ examples', () => {
    tight = 0;
    fc.assert(
      fc.property(caseArb, (c) => {
        const model = createModel(c.spec, c.dataSeed);
        const data = dataFor(c.spec, c.batch, c.dataSeed, c.scale);
        const s = setupFor(c, model, true);
        const d = model.paramCount;
        // Materialised per-example gradients: a batch-of-one backward each, unscaled.
        const grads = new Float32Array(c.batch * d);
        for (let r = 0; r < c.batch; r++) {
          model.forwardBackward(gatherBatch(data, Int32Array.of(r)));
          model.backwardParams(
            grads.subarray(r * d, (r + 1) * d),
            model.groups.map(() => null),
            false,
          );
        }
        const row = (r: number) => grads.slice(r * d, (r + 1) * d);
        const one = (r: number) => stepOnce(s, d, (opt) => opt.accumulatePerSampleGrads(row(r), 1));
        const contribs = Array.from({ length: c.batch }, (_, r) => one(r));
        checkBounds(
          contribs,
          stepOnce(s, d, (opt) => opt.accumulatePerSampleGrads(grads, c.batch)),
          s,
          d,
        );
      }),
      { seed: 20261202, numRuns: 200 },
    );
    expect(tight).toBeGreaterThan(50);
  });
});
