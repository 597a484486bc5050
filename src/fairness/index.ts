// dpfl/fairness: fairness measures for any model (pure TypeScript, no addon): group metrics with bootstrap
// intervals, the counterfactual gender swap for text, accumulated prediction sensitivity (from the models'
// input gradients: a dpfl model brings its own kernels), the WEAT embedding association test and the agreement
// of two measures over runs. First names come from optional npm packages (loaded through node:module).
export {
  groupMetrics,
  type GroupMetricsInput,
  type GroupMetricsOptions,
  type GroupMetricsResult,
  type GroupStats,
  type MetricInterval,
  type UndefinedRate,
} from './group-metrics.js';
export {
  genderSwap,
  genderedTerms,
  hasGenderedTerm,
  type FirstNamePairs,
  type GenderSwapOptions,
} from './gender-swap.js';
export {
  firstNamePairs,
  loadFirstNamePairs,
  loadFirstNames,
  NAME_STOP_WORDS,
  type FirstNameLists,
  type FirstNamePairing,
} from './first-names.js';
export { metricAgreement, type AgreementOptions, type AgreementResult } from './agreement.js';
export { genderSwapBags, type GenderSwapBags, type GenderSwapBagsOptions } from './augment.js';
export {
  counterfactualGap,
  type CounterfactualGap,
  type CounterfactualOptions,
  type PositiveProbability,
} from './counterfactual.js';
export {
  weat,
  WEAT_CAREER_TERMS,
  WEAT_FAMILY_TERMS,
  WEAT_FEMALE_TERMS,
  WEAT_HAM_TERMS,
  WEAT_MALE_TERMS,
  WEAT_SPAM_TERMS,
  type EmbedFunction,
  type WeatInput,
  type WeatResult,
} from './weat.js';
export { textModelEmbedding, type TextEmbeddingOptions } from './text-embedding.js';
export {
  predictionSensitivity,
  type InputGradientModel,
  type PredictionSensitivityInput,
  type PredictionSensitivityOptions,
  type PredictionSensitivityResult,
} from './prediction-sensitivity.js';
export { protectedStatusLabels, type ProtectedStatusRule } from './protected-status.js';
