// dpfl/dpsgd: the DP optimizer (clipping rules, noise, accounting), its non-private baseline,
// samplers, makePrivate, the trainer, checkpoints and resumable runs.
export {
  DpOptimizer,
  type DpOptimizerOptions,
  type GhostClippable,
  type OptimizerState,
  type StepReport,
  type UpdateRule,
} from './optimizer.js';
export { NonPrivateOptimizer, type NonPrivateOptimizerOptions, type NonPrivateState } from './non-private.js';
export { makePrivate, type MakePrivateOptions, type PrivateSetup } from './make-private.js';
export { PoissonSampler, FixedSizeSampler, type Sampler, type SamplerState } from './sampler.js';
export { splitThreshold, type ClippingKind, type ClippingRule } from './clipping.js';
export { Trainer, accuracy, type StepResult, type TrainerOptions } from './trainer.js';
export { saveCheckpoint, loadCheckpoint, type CheckpointContents } from './checkpoint.js';
export { createRun, saveRun, restoreRun, type Run, type RunConfig } from './run.js';
// DP-AdaFEST and DP-FEST (Ghazi et al., NeurIPS 2023): noise only on the embedding rows a noisy
// map selects each step, or on a fixed set of frequent rows chosen once.
export {
  splitNoiseMultiplier,
  type AdaptiveSparseEmbeddingsOptions,
  type EmbeddingTableLayout,
  type FixedSparseEmbeddingsOptions,
  type SparseEmbeddingsOptions,
} from './sparse-embeddings.js';
export { frequentRowsEvent, selectFrequentRows, type FrequentRowsOptions } from './frequent-rows.js';
