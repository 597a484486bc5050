// dpfl/tfjs: TensorFlow.js models trained privately and federated. @tensorflow/tfjs-core and
// @tensorflow/tfjs-layers are optional peer dependencies: only this entry imports them, so every
// other entry works without tfjs installed.
export { ghostClippedGradients, type ClippedGradients, type PerExampleLoss } from './gradients.js';
export { tfjsFlModel, type TfjsFlModelOptions, type TfjsLossFunction } from './fl-model.js';
