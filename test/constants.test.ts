// Each constant of the core has one definition (native/include/dpfl/constants.h): TypeScript reads it
// from the addon, and what it reads is what the kernels use.
import { describe, expect, it } from 'vitest';
import { clipByNorm } from '../src/kernels/clip.js';
import { CLIP_EPSILON, MAX_ABS_NOISE_SAMPLE } from '../src/kernels/constants.js';
import { MAX_NOISE_STD } from '../src/kernels/noise-options.js';
import { binding } from '../src/native/binding.js';
import { CLIP_EPSILON as REFERENCE_CLIP_EPSILON } from './reference/kernels.js';

describe('constants shared by the core and TypeScript', () => {
  it('come from the addon, frozen', () => {
    expect(Object.isFrozen(binding.constants)).toBe(true);
    expect(CLIP_EPSILON).toBe(binding.constants.clipEpsilon);
    expect(MAX_ABS_NOISE_SAMPLE).toBe(binding.constants.maxAbsNoiseSample);
  });

  it('the clipping epsilon is the one the native kernel adds (and the float64 reference uses)', () => {
    expect(CLIP_EPSILON).toBe(1e-6); // Opacus' value: changing it changes every private result
    expect(REFERENCE_CLIP_EPSILON).toBe(CLIP_EPSILON);
    const { norm, scale } = clipByNorm(new Float32Array([3, 4]), 1);
    expect(norm).toBe(5);
    expect(scale).toBe(1 / (5 + CLIP_EPSILON));
  });

  it('the noise std bound is derived from the core bound on a sample', () => {
    expect(MAX_ABS_NOISE_SAMPLE).toBe(12.2);
    expect(MAX_NOISE_STD).toBe(2 ** 102 / MAX_ABS_NOISE_SAMPLE);
  });
});
