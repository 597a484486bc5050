// Public API of federated learning: loops, selection, partitions, server optimizers, DP-FedAvg,
// robust and secure aggregation.
export { FederatedServer, REJECT_REASONS, type RejectReason, type RoundPlan, type RoundReport, type ServerOptions } from './server.js';
export { FederatedClient, type ClientReport } from './client.js';
export { simulate, type Algorithm, type RoundSummary, type SimulationOptions, type SimulationResult } from './simulate.js';
export {
  selectClients,
  ppsInclusion,
  type Selection,
  type SelectionMethod,
  type SelectionRng,
  type SelectionOptions,
  type Weighting,
} from './selection.js';
export { partitionData, type Partition, type PartitionKind, type PartitionOptions } from './partition.js';
export { createServerOptimizer, type ServerOptimizer, type ServerOptimizerName, type ServerOptimizerOptions } from './optimizers.js';
export { DpFedAvg, type AdaptiveClipOptions, type DpFedAvgOptions, type DpRoundResult } from './dp.js';
export { createRoundAggregator, type AggregationRule, type RoundAggregator } from './aggregation.js';
export { SecureAggregation, fixedPointScale } from './secagg.js';
export { ClientStore, ContinualStreams, type EvictionPolicy } from './store.js';
export { SoftmaxRegression, type FlModel, type LocalTrainingOptions } from './model.js';
export { BuiltinModel } from './builtin-model.js';
export { syntheticData, trainTestSplit, fromDataset, withDenseSource, type LabelledData, type SyntheticOptions } from './data.js';
export { loadFlDataset, type FlDatasetName, type FlDatasetOptions } from './datasets.js';
export { spamFromMessages, senderGroups, loadSpamForFl, loadSpamBagsForFl, type MailMessage } from './spam.js';
export { benchFl, type FlBenchRow } from './bench.js';
// Rng (simulation draws) and senderDomain are internals (issue 13): only Rng's type is public.
export type { Rng } from './rng.js';
