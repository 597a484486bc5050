// Constants of the native core that TypeScript needs too, read from the addon so that each has one
// definition (native/include/dpfl/constants.h, shared by the CPU and CUDA kernels).
import { binding } from '../native/binding.js';

/** Added to the norm in the clipping scale min(1, C / (norm + CLIP_EPSILON)) (Opacus' convention). */
export const CLIP_EPSILON: number = binding.constants.clipEpsilon;

/** No Gaussian noise sample of either stream (Philox or secure) exceeds this in magnitude. */
export const MAX_ABS_NOISE_SAMPLE: number = binding.constants.maxAbsNoiseSample;
