// dpfl/tfjs: TensorFlow.js models trained privately and federated. @tensorflow/tfjs-core and
// @tensorflow/tfjs-layers are optional peer dependencies: only this entry imports them, so every
// other entry works without tfjs installed.
export type { ClippedGradients, ClippedGradientsFn, PerExampleLoss } from './gradient-types.js';
export { ghostClippedGradients } from './gradients.js';
export { perExampleClippedGradients } from './per-example.js';
export { type LossName, resolveLoss } from './loss.js';
export {
  makePrivateTrainer,
  PrivateTrainer,
  type PrivateFitOptions,
  type PrivateHistory,
  type PrivateLogs,
  type PrivateOptions,
  type PrivateStepResult,
  type PrivateTrainerState,
  type SavedTensor,
} from './make-private.js';
export { tfjsFlModel, type TfjsFlModelOptions, type TfjsLossFunction } from './fl-model.js';
