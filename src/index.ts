// dpfl: differentially private training and federated learning on a native core.
export { clipAndSum, clipAndSumAsync, clipByNorm, perSampleNorms } from './kernels/clip.js';
export type { ClipAndSumOptions, ClipAndSumResult, PerSampleNormsOptions } from './kernels/clip.js';
export { addGaussianNoise, addGaussianNoiseAsync } from './kernels/noise.js';
export type { GaussianNoiseOptions } from './kernels/noise.js';
export { Aggregator, weightedSum, weightedSumAsync } from './kernels/aggregate.js';
export type { WeightedSumOptions } from './kernels/aggregate.js';
export { info } from './kernels/info.js';
export { DeviceArray, cudaInfo } from './kernels/device.js';
export type { CudaInfo } from './kernels/device.js';
export type { DeviceClipOptions, DeviceClipResult } from './kernels/device-kernels.js';
export type { DpflInfo } from './kernels/info.js';
export type { DpflErrorCode } from './errors.js';
export * from './accounting/index.js';
