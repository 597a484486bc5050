// DpOptimizer over per-variable blocks (issue 15): the same parameters after seeded steps as with
// the interleaved matrix; per-variable clipped sums; clipFactors on Float32 norms.
import { describe, expect, it } from 'vitest';
import { poissonSampledGaussian } from '../../src/accounting/index.js';
import { type ClippingRule, DpOptimizer } from '../../src/dpsgd/index.js';
import { Random } from '../../src/data/random.js';

const B = 6;
const WIDTHS = [4, 0, 9, 10]; // not aligned with the optimizer's groups [10, 19, 23]
const D = 23;

function optimizer(clipping: ClippingRule | ClippingRule['kind']): DpOptimizer {
  return new DpOptimizer({
    params: Float32Array.from({ length: D }, (_, i) => i / D),
    groupEnds: [10, 19, 23],
    maxGradNorm: 1.2,
    noiseMultiplier: 0.7,
    expectedBatchSize: 6,
    event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: 0.01 }),
    clipping,
    update: { kind: 'sgd', lr: 0.1, momentum: 0.5 },
    seed: 9,
  });
}

function blocksOf(seed: number): Float32Array[] {
  const rng = new Random(seed);
  return WIDTHS.map((n) => Float32Array.from({ length: B * n }, () => rng.normal()));
}

function interleave(blocks: Float32Array[]): Float32Array {
  const m = new Float32Array(B * D);
  for (let i = 0; i < B; i++) {
    let offset = i * D;
    blocks.forEach((b, k) => {
      m.set(b.subarray(i * WIDTHS[k]!, (i + 1) * WIDTHS[k]!), offset);
      offset += WIDTHS[k]!;
    });
  }
  return m;
}

const RULES: [string, ClippingRule | ClippingRule['kind']][] = [
  ['flat', 'flat'],
  ['per-layer', 'per-layer'],
  ['automatic', 'automatic'],
  ['adaptive', { kind: 'adaptive', countNoise: 1 }],
];

describe('DpOptimizer over per-variable blocks', () => {
  for (const [name, rule] of RULES) {
    it(`${name}: the same params as the interleaved matrix after seeded steps (NaN example included)`, () => {
      const viaMatrix = optimizer(rule);
      const viaBlocks = optimizer(rule);
      for (let step = 0; step < 2; step++) {
        for (const seed of [1, 2]) {
          const blocks = blocksOf(10 * step + seed);
          if (seed === 2) blocks[2]![3 * 9 + 4] = Number.NaN; // dropped from every block
          viaMatrix.accumulatePerSampleGrads(interleave(blocks), B);
          viaBlocks.accumulatePerSampleGrads(blocks, B);
        }
        expect(viaBlocks.step()).toEqual(viaMatrix.step());
        expect(viaBlocks.params).toEqual(viaMatrix.params);
      }
      expect(viaBlocks.maxGradNorm).toBe(viaMatrix.maxGradNorm);
    });
  }

  it('refuses blocks whose widths do not add up to params.length; B = 0 is a no-op as for the matrix', () => {
    const opt = optimizer('flat');
    opt.accumulatePerSampleGrads([new Float32Array(0), new Float32Array(0)], 0);
    opt.accumulatePerSampleGrads(new Float32Array(0), 0);
    expect(opt.step().examples).toBe(0);
    expect(() => opt.accumulatePerSampleGrads([new Float32Array(B * 5)], B)).toThrow(
      /grads must be blocks of total width params.length \(23\), received 5/,
    );
    expect(() => opt.accumulatePerSampleGrads([new Float32Array(B * 23 + 1)], B)).toThrow(/grads\[0\]\.length/);
  });

  it('addClippedSum takes per-variable sums without concatenation: the same params as one vector', () => {
    const whole = optimizer('flat');
    const parts = optimizer('flat');
    const rng = new Random(4);
    for (let batch = 0; batch < 2; batch++) {
      const sq = Float64Array.from({ length: B * 3 }, () => rng.next() * 4);
      const sum = Float32Array.from({ length: D }, () => rng.normal());
      expect(parts.clipFactors(sq, B)).toEqual(whole.clipFactors(sq, B));
      whole.addClippedSum(sum);
      parts.addClippedSum([sum.slice(0, 4), sum.slice(4, 4), sum.slice(4, 13), sum.slice(13)]);
    }
    whole.step();
    parts.step();
    expect(parts.params).toEqual(whole.params);
    parts.clipFactors(new Float64Array(3), 1);
    expect(() => parts.addClippedSum([new Float32Array(22)])).toThrow(/sum \(total length\) must be params.length/);
    expect(() => parts.addClippedSum([new Float32Array(22), new Float32Array([Number.NaN])])).toThrow(/finite/);
  });

  for (const [name, rule] of RULES) {
    it(`${name}: clipFactors on Float32 norms equals Float64 norms of the same values`, () => {
      const rng = new Random(5);
      const sq32 = Float32Array.from({ length: B * 3 }, () => rng.next() * 3);
      sq32[7] = Number.NaN;
      const a = optimizer(rule);
      const b = optimizer(rule);
      const f32 = a.clipFactors(sq32, B);
      const f64 = b.clipFactors(Float64Array.from(sq32), B);
      expect(f32).toEqual(f64);
      a.addClippedSum(new Float32Array(D).fill(0.5));
      b.addClippedSum(new Float32Array(D).fill(0.5));
      expect(a.step()).toEqual(b.step());
      expect(a.params).toEqual(b.params);
    });
  }

  it('clipFactors refuses other norm types', () => {
    expect(() => optimizer('flat').clipFactors(new Int32Array(B * 3) as never, B)).toThrow(
      /sqNorms must be a Float64Array or Float32Array/,
    );
  });
});
