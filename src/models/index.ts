export { createModel, type ModelKind, type ModelSpec } from './zoo.js';
export { Sequential, type ParamGroup } from './sequential.js';
export { Act, Dense, EmbeddingBag, type Layer } from './layers.js';
export type { Batch, LayerInput } from './batch.js';
