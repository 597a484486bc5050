// The guard for the class of "the event charged is not the mechanism run": for every DP-SGD
// release path (flat, per-layer, adaptive, automatic clipping; Poisson and fixed-size sampling;
// constant σ, a schedule, and a schedule that is not a pure function of the step; step() and
// stepAsync(); DpOptimizer built directly and by makePrivate), the event charged to the
// accountant at each step is compared with the mechanism the step actually ran: the noise std
// actually passed to the noise kernel, divided by the sensitivity actually enforced (measured on
// the released pre-noise values), at the sampler's rate.
import { describe, expect, it, vi } from 'vitest';
import { Accountant, type DpEvent } from '../../src/accounting/index.js';
import { DpOptimizer, FixedSizeSampler, PoissonSampler, makePrivate } from '../../src/dpsgd/index.js';
import type { ClippingRule, Sampler } from '../../src/dpsgd/index.js';

interface NoiseCall {
  std: number;
  /** The released values before noise. */
  pre: Float32Array;
}

const rec = vi.hoisted(() => ({ calls: [] as NoiseCall[] }));

// The noise kernel records what it is asked to add and adds nothing: the released value before
// noise is then read exactly (the optimizer's arithmetic after the noise is unchanged).
vi.mock('../../src/kernels/noise.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../src/kernels/noise.js')>();
  return {
    ...orig,
    addGaussianNoise: (x: Float32Array, std: number) => {
      rec.calls.push({ std, pre: x.slice() });
      return x;
    },
    addGaussianNoiseAsync: async (x: Float32Array, std: number) => {
      rec.calls.push({ std, pre: x.slice() });
      return x;
    },
  };
});

const D = 6;
const N = 50;
const TARGET_QUANTILE = 0.5;
const ADAPT_RATE = 0.2;
const STEPS = 3;

type RuleKind = ClippingRule['kind'];
type Schedule = 'constant' | 'schedule' | 'impure';

function rule(kind: RuleKind): ClippingRule {
  if (kind === 'adaptive') {
    return { kind, targetQuantile: TARGET_QUANTILE, learningRate: ADAPT_RATE, countNoise: 2 };
  }
  if (kind === 'automatic') return { kind, gamma: 0.01 };
  return { kind };
}

function noiseOf(schedule: Schedule): { sigma: number | ((t: number) => number); calls: () => number } {
  let calls = 0;
  if (schedule === 'constant') return { sigma: 1.1, calls: () => calls };
  if (schedule === 'schedule') {
    const sigma = (t: number) => {
      calls++;
      return [0.9, 1.4, 0.7][t]!;
    };
    return { sigma, calls: () => calls };
  }
  // A schedule with state: every call returns another σ. Called once per step, σ of the noise and
  // σ of the event are the same number; called twice, they differ.
  return { sigma: () => 0.8 + 0.1 * (calls++ % 5), calls: () => calls };
}

interface Built {
  opt: DpOptimizer;
  sampler: Sampler;
  accountant: Accountant;
}

type Sampling = 'poisson' | 'fixed-size';

type Sigma = number | ((t: number) => number);

function build(sampling: Sampling, kind: RuleKind, sigma: Sigma, viaMakePrivate: boolean): Built {
  if (viaMakePrivate) {
    const s = makePrivate({
      params: new Float32Array(D),
      groupEnds: [2, D],
      datasetSize: N,
      batchSize: 5,
      sampling,
      noiseMultiplier: sigma as number,
      delta: 1e-5,
      steps: STEPS,
      maxGradNorm: 1.5,
      clipping: rule(kind),
      update: { kind: 'sgd', lr: 1 },
      seed: 9,
    });
    return { opt: s.optimizer, sampler: s.sampler, accountant: s.accountant };
  }
  const sampler: Sampler =
    sampling === 'poisson'
      ? new PoissonSampler({ datasetSize: N, sampleRate: 0.1, seed: 1 })
      : new FixedSizeSampler({ datasetSize: N, batchSize: 5, seed: 1 });
  const accountant = new Accountant();
  const opt = new DpOptimizer({
    params: new Float32Array(D),
    groupEnds: [2, D],
    maxGradNorm: 1.5,
    noiseMultiplier: sigma,
    expectedBatchSize: sampler.expectedBatchSize,
    event: (z) => sampler.event(z),
    update: { kind: 'sgd', lr: 1 },
    clipping: rule(kind),
    accountant,
    seed: 9,
  });
  return { opt, sampler, accountant };
}

const u = Float32Array.from({ length: D }, (_, i) => (i % 2 === 0 ? 1 : -0.5) * (i + 1));
const uNorm = Math.hypot(...u);

/**
 * Whitened sensitivity of one step against the empty batch (add/remove-one): the example's
 * released sum over the sum's noise std, and under adaptive clipping its centred count over the
 * count's noise std, recovered from C's update C' = C·exp(−η(b̃ − γ)) with b̃ = centred/b + ½
 * (the noise adds nothing here). The empty batch releases 0 and 0.
 */
async function whitened(
  b: Built,
  kind: RuleKind,
  scale: (c: number) => number,
  async: boolean,
): Promise<{ w: number; event: DpEvent }> {
  const c = b.opt.maxGradNorm;
  const g = u.map((v) => (v * scale(c)) / uNorm);
  const before = rec.calls.length;
  b.opt.accumulatePerSampleGrads(g, 1);
  if (async) await b.opt.stepAsync();
  else b.opt.step();
  const calls = rec.calls.slice(before);
  const sum = calls.find((x) => x.pre.length === D)!;
  let w2 = (Math.hypot(...sum.pre) / sum.std) ** 2;
  if (kind === 'adaptive') {
    const count = calls.find((x) => x.pre.length === 1)!;
    const frac = TARGET_QUANTILE - Math.log(b.opt.maxGradNorm / c) / ADAPT_RATE;
    const centred = (frac - 0.5) * b.sampler.expectedBatchSize;
    w2 += (centred / count.std) ** 2;
  }
  expect(calls).toHaveLength(kind === 'adaptive' ? 2 : 1);
  const h = b.accountant.history;
  return { w: Math.sqrt(w2), event: h[h.length - 1]!.event };
}

describe('the event charged at each step is the mechanism the step runs', () => {
  const cases: Array<[Sampling, RuleKind, Schedule, boolean, boolean]> = [];
  for (const sampling of ['poisson', 'fixed-size'] as const) {
    for (const kind of ['flat', 'per-layer', 'adaptive', 'automatic'] as const) {
      for (const schedule of ['constant', 'schedule', 'impure'] as const) {
        for (const async of [false, true]) cases.push([sampling, kind, schedule, async, false]);
      }
      cases.push([sampling, kind, 'constant', false, true]);
    }
  }

  for (const [sampling, kind, schedule, async, viaMakePrivate] of cases) {
    const via = viaMakePrivate ? ', makePrivate' : '';
    const name = `${sampling}, ${kind}, σ ${schedule}, ${async ? 'stepAsync' : 'step'}${via}`;
    it(name, async () => {
      // Two runs in lockstep: an example far above C (norm 10⁴·C) and one just inside it (0.999·C):
      // together they reach the sum's and (adaptive) the count's sensitivity.
      const noises = [noiseOf(schedule), noiseOf(schedule)];
      const runs = noises.map((n) => build(sampling, kind, n.sigma, viaMakePrivate));
      const scales = [(c: number) => 1e4 * c, (c: number) => 0.999 * c];
      for (let t = 0; t < STEPS; t++) {
        const res = [];
        for (let j = 0; j < runs.length; j++) res.push(await whitened(runs[j]!, kind, scales[j]!, async));
        const w = Math.max(...res.map((r) => r.w));
        for (const [j, r] of res.entries()) {
          const e = r.event;
          const b = runs[j]!;
          expect(b.accountant.history.reduce((s, h) => s + h.count, 0)).toBe(t + 1);
          let measured: number;
          if (sampling === 'poisson') {
            expect(e.kind).toBe('poisson-sampled-gaussian');
            expect((e as { sampleRate: number }).sampleRate).toBe((b.sampler as PoissonSampler).sampleRate);
            measured = 1 / w;
          } else {
            // Replace-one: the released difference of two neighbours a, b is at most w_a + w_b
            // (triangle inequality), reached by opposite examples on either side of C.
            expect(e.kind).toBe('sampled-without-replacement-gaussian');
            expect(e).toMatchObject({ sampleSize: (b.sampler as FixedSizeSampler).batchSize, datasetSize: N });
            measured = 1 / (2 * w);
          }
          const charged = (e as { noiseMultiplier: number }).noiseMultiplier;
          // Never charged for more noise than was run (measured ≥ the true multiplier), and tight.
          expect(charged).toBeLessThanOrEqual(measured * (1 + 1e-6));
          expect(charged).toBeGreaterThanOrEqual(measured * (1 - 2e-3));
        }
      }
      if (schedule !== 'constant') for (const n of noises) expect(n.calls()).toBe(STEPS);
    });
  }
});
