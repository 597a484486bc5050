// dpfl: the native kernels (per-sample clipping, Gaussian noise, aggregation, robust and secure
// aggregation arithmetic, layer kernels), the backend's info, and the error codes. Each layer
// above has its own entry point: dpfl/accounting, dpfl/models, dpfl/data, dpfl/dpsgd, dpfl/fl,
// dpfl/audit (src/entries.ts lists them; package.json maps them).
export { clipAndSum, clipAndSumAsync, clipByNorm, perSampleNorms } from './kernels/clip.js';
export type {
  BlocksNormsOptions,
  ClipAndSumBlocksOptions,
  ClipAndSumBlocksResult,
  ClipAndSumOptions,
  ClipAndSumResult,
  PerSampleNormsOptions,
} from './kernels/clip.js';
export { addGaussianNoise, addGaussianNoiseAsync } from './kernels/noise.js';
export type { GaussianNoiseOptions } from './kernels/noise.js';
export { Aggregator, weightedSum, weightedSumAsync } from './kernels/aggregate.js';
export type { WeightedSumOptions } from './kernels/aggregate.js';
export {
  coordinateMedian,
  coordinateMedianAsync,
  trimmedMean,
  trimmedMeanAsync,
  krum,
  krumAsync,
  multiKrum,
  multiKrumAsync,
  bulyan,
  bulyanAsync,
  quantizeFixed,
  dequantizeFixed,
  applyMask,
  sumMod,
} from './kernels/fl.js';
export type { RobustOptions, TrimmedMeanOptions, KrumOptions, MultiKrumOptions } from './kernels/fl.js';
export * as nn from './kernels/nn.js';
export { info } from './kernels/info.js';
export type { DpflInfo } from './kernels/info.js';
export { DeviceArray, cudaInfo } from './kernels/device.js';
export type { CudaInfo } from './kernels/device.js';
export type { DeviceClipOptions, DeviceClipResult } from './kernels/device-kernels.js';
export { ERROR_CODES, isDpflError } from './errors.js';
export type { DpflErrorCode } from './errors.js';
