// One adaptive-clipping module (Andrew et al. 2021) for DP-SGD and DP-FedAvg: the same option
// names, the same noise split (Theorem 1) and the same charged event — one subsampled Gaussian at σ
// whose whitened sensitivity equals that of the (sum, count) pair actually noised.
import { describe, expect, it } from 'vitest';
import { poissonSampledGaussian } from '../../src/accounting/index.js';
import {
  adaptiveClipping,
  countNoiseStd,
  nextClipNorm,
  sumNoiseMultiplier,
} from '../../src/dpsgd/adaptive-clipping.js';
import { DpOptimizer } from '../../src/dpsgd/index.js';
import { DpFedAvg } from '../../src/fl/index.js';
import { addGaussianNoise } from '../../src/kernels/noise.js';

const sigma = 1.1;
const perRound = 40;
const countNoise = 3;

function optimizer(clipping: object): DpOptimizer {
  return new DpOptimizer({
    params: new Float32Array(8),
    maxGradNorm: 1,
    noiseMultiplier: sigma,
    expectedBatchSize: perRound,
    event: (s) => poissonSampledGaussian({ noiseMultiplier: s, sampleRate: perRound / 400 }),
    clipping: { kind: 'adaptive', ...clipping } as never,
    update: { kind: 'sgd', lr: 0.1 },
  });
}

function fedAvg(adaptiveClip: object | boolean): DpFedAvg {
  const population = new Array(400).fill(10);
  const options = { noiseMultiplier: sigma, clipNorm: 1, delta: 1e-5, adaptiveClip };
  return new DpFedAvg(population, perRound, 'poisson', options as never);
}

describe('adaptive clipping: one module for DP-SGD and DP-FedAvg', () => {
  it('the noise split of Theorem 1: sum at σ_Δ and count at σ_b cost exactly one Gaussian at σ', () => {
    const zSum = sumNoiseMultiplier(sigma, countNoise, 'x', 'y');
    // Sum sensitivity 1 (in units of C) at std σ_Δ, centred count sensitivity ½ at std σ_b.
    const whitened = Math.hypot(1 / zSum, 0.5 / countNoise);
    expect(whitened).toBeCloseTo(1 / sigma, 14);
    expect(() => sumNoiseMultiplier(sigma, sigma / 2, 'clipping', 'it')).toThrow(
      /clipping.countNoise must be greater than noiseMultiplier \/ 2 \(0.55\); raise it/,
    );
  });

  it('DP-SGD and DP-FedAvg take the same option names and split the noise alike', () => {
    const opt = optimizer({ countNoise });
    const fl = fedAvg({ countNoise });
    expect(opt.gradientNoiseMultiplier()).toBe(fl.sumNoiseMultiplier);
    expect(fl.sumNoiseMultiplier).toBe(sumNoiseMultiplier(sigma, countNoise, 'x', 'y'));
    // Default σ_b: the expected count / 20 in both.
    expect(optimizer({}).gradientNoiseMultiplier()).toBe(fedAvg(true).sumNoiseMultiplier);
    expect(countNoiseStd(adaptiveClipping('c'), perRound)).toBe(perRound / 20);
  });

  it('both charge one event at σ (not σ_Δ, not two composed releases) — the noise actually added', () => {
    const opt = optimizer({ countNoise });
    const fl = fedAvg({ countNoise });
    const expected = poissonSampledGaussian({ noiseMultiplier: sigma, sampleRate: perRound / 400 });
    expect(opt.stepEvent()).toEqual(expected);
    expect(fl.event).toEqual(expected);
    opt.step();
    fl.finish(new Float32Array(8), perRound, perRound);
    expect(opt.accountant.history).toEqual([{ event: expected, count: 1 }]);
    expect(fl.accountant.history).toEqual([{ event: expected, count: 1 }]);
  });

  it('the geometric update C·exp(−η(b̃ − γ)) from the noised centred count', () => {
    const rule = adaptiveClipping('clipping', { targetQuantile: 0.7, learningRate: 0.3, countNoise: 2 });
    const noise = { seed: 9n, stream: 1, offset: 4 };
    const draw = addGaussianNoise(new Float32Array(1), 2, noise)[0]!;
    const frac = (13 - 20 / 2 + draw) / 25 + 0.5;
    expect(nextClipNorm(1.5, 13, 20, 25, rule, noise)).toBe(1.5 * Math.exp(-0.3 * (frac - 0.7)));
  });

  it('one set of names: the old DP-SGD name is refused by name; bad values are refused alike', () => {
    expect(() => optimizer({ countNoiseMultiplier: 2 })).toThrow(
      'clipping.countNoiseMultiplier must be absent (renamed clipping.countNoise), received 2',
    );
    expect(() => optimizer({ targetQuantile: 1 })).toThrow('clipping.targetQuantile must be in (0, 1), received 1');
    expect(() => fedAvg({ targetQuantile: 1 })).toThrow('adaptiveClip.targetQuantile must be in (0, 1), received 1');
    expect(() => fedAvg({ learningRate: 0 })).toThrow('adaptiveClip.learningRate must be a positive finite number');
    expect(() => fedAvg({ countNoise: 0.5 })).toThrow(
      /adaptiveClip.countNoise must be greater than noiseMultiplier \/ 2/,
    );
  });
});
