// dpfl/models: built-in models (dense, embedding-bag and activation layers) over the native kernels.
export { createModel, type ModelKind, type ModelSpec } from './zoo.js';
export { Sequential, type ParamGroup } from './sequential.js';
export { Act, Dense, EmbeddingBag, type Layer } from './layers.js';
export type { Batch, LayerInput } from './batch.js';
