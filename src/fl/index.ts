// dpfl/fl: federated learning loops (server, client, simulation), client selection, partitions,
// server optimizers, DP-FedAvg, robust and secure aggregation, continual client stores.
export {
  FederatedServer,
  REJECT_REASONS,
  type RejectReason,
  type RoundPlan,
  type RoundReport,
  type ServerOptions,
  type ServerSnapshot,
} from './server.js';
export { FederatedClient, type ClientReport } from './client.js';
export {
  simulate,
  type Algorithm,
  type RoundSummary,
  type SimulationOptions,
  type SimulationResult,
} from './simulate.js';
export {
  selectClients,
  ppsInclusion,
  type Selection,
  type SelectionMethod,
  type SelectionOptions,
  type Weighting,
} from './selection.js';
export { partitionData, type Partition, type PartitionKind, type PartitionOptions } from './partition.js';
export {
  createServerOptimizer,
  type ServerOptimizer,
  type ServerOptimizerName,
  type ServerOptimizerOptions,
  type ServerOptimizerState,
} from './optimizers.js';
export {
  DpFedAvg,
  type AdaptiveClipOptions,
  type DpFedAvgOptions,
  type DpFedAvgState,
  type DpRoundResult,
} from './dp.js';
export {
  createRoundAggregator,
  type AggregationRule,
  type RoundAggregator,
  type RoundAggregatorOptions,
} from './aggregation.js';
export { SecureAggregation, fixedPointScale } from './secagg.js';
// SecAgg+ over a network: the server's coordinator (the client's side is in dpfl/fl/client).
export {
  SecAggCoordinator,
  type CoordinatorStage,
  type SecAggCoordinatorOptions,
  type SecAggCoordinatorState,
  type SecAggResult,
} from './net/secagg-coordinator.js';
export {
  graphParameters,
  NeighbourGraph,
  type GraphParameterOptions,
  type GraphParameters,
} from './net/secagg-graph.js';
export { ClientStore, ContinualStreams, type EvictionPolicy } from './store.js';
export type { FlModel, LocalTrainingOptions } from './model.js';
// Data is dpfl/data's: a Dataset, and for the 'natural' partition its Owners (loadDataset returns both).
export { BuiltinModel } from './builtin-model.js';
// The coordinator over a network (dpfl serve): HTTP(S), tokens, limits, crash-safe SQLite state.
export { createFlServer, type FlServer, type FlServerOptions } from './net/server.js';
export {
  loadConfig,
  resolveConfig,
  type DpConfig,
  type FlServerConfig,
  type ResolvedConfig,
  type ResolvedSecureAggregation,
  type SecureAggregationConfig,
} from './net/config.js';
export type { FlEvent } from './net/coordinator.js';
export type { SecureAggregationRoutes } from './net/routes.js';
export type { EvaluationSummary } from './net/evaluation.js';
