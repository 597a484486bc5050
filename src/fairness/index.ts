// dpfl/fairness: fairness measures for any model, from its predictions (pure TypeScript, no addon):
// group metrics with bootstrap intervals, and the counterfactual gender swap for text.
export {
  groupMetrics,
  type GroupMetricsInput,
  type GroupMetricsOptions,
  type GroupMetricsResult,
  type GroupStats,
  type MetricInterval,
  type UndefinedRate,
} from './group-metrics.js';
export { genderSwap, genderedTerms, hasGenderedTerm } from './gender-swap.js';
export {
  counterfactualGap,
  type CounterfactualGap,
  type CounterfactualOptions,
  type PositiveProbability,
} from './counterfactual.js';
