// The simulation runner: N in-process clients driven round by round through a FederatedServer,
// reproducibly from one seed, with simulated dropouts (a selected client that never reports),
// stragglers (a report whose simulated latency exceeds the round's deadline arrives late and is
// rejected) and the static or continual data setting.
//
// Simulated time: each round opens at t; a reporting client's latency is
// work · exp(σ·N(0,1)) seconds with work = local epochs × stored examples / 1000 (a log-normal
// device speed; Bonawitz et al., "Towards Federated Learning at Scale", SysML 2019, describe the
// heavy tail of device round-trip times). Reports are submitted in arrival order at t + latency;
// the next round opens at t + deadline (or after the last arrival without a deadline).
import type { Dataset } from '../data/dataset.js';
import { FederatedClient } from './client.js';
import type { AdaptiveClipOptions } from './dp.js';
import type { FlModel, LocalTrainingOptions } from './model.js';
import type { AggregationRule } from './aggregation.js';
import type { ServerOptimizerName, ServerOptimizerOptions } from './optimizers.js';
import type { Partition } from './partition.js';
import { invalidArgument, invalidType } from '../errors.js';
import {
  finiteNumber,
  nonNegativeFinite,
  nonNegativeInteger,
  optionsObject,
  positiveInteger,
  requiredObject,
  typedArray,
  withMethods,
} from '../validate.js';
import { Random } from '../data/random.js';
import { exampleIndices, labelledDataset } from './validate.js';
import type { SelectionOptions } from './selection.js';
import { FederatedServer, type RoundReport } from './server.js';
import { ContinualStreams, type EvictionPolicy } from './store.js';
import type { AccountantKind } from '../accounting/index.js';

export type Algorithm = ServerOptimizerName | 'fedprox';

export interface SimulationOptions {
  train: Dataset;
  test: Dataset;
  partition: Partition;
  model: FlModel;
  rounds: number;
  selection: SelectionOptions;
  estimator?: 'unbiased' | 'self-normalized';
  /** Server optimizer; 'fedprox' is FedAvg on the server with the proximal term μ on clients. */
  algorithm?: Algorithm;
  serverOptimizer?: ServerOptimizerOptions;
  /** FedProx μ. Default 0.01 with 'fedprox', else 0. */
  mu?: number;
  local?: Partial<Omit<LocalTrainingOptions, 'mu'>>;
  aggregation?: AggregationRule;
  trim?: number;
  /** 'krum', 'multi-krum', 'bulyan': f, the Byzantine reports tolerated. Default 1. */
  byzantine?: number;
  normBound?: number;
  minReports?: number;
  dp?: {
    /** z; or targetEpsilon, calibrated over the simulation's rounds (DpFedAvgOptions). */
    noiseMultiplier?: number;
    targetEpsilon?: number;
    clipNorm: number;
    adaptiveClip?: AdaptiveClipOptions | boolean;
    weightCap?: number;
    delta?: number;
    accountant?: AccountantKind;
  };
  continual?: { capacity: number; policy?: EvictionPolicy; initial?: number; perRound?: number };
  /** Probability that a selected client drops out (never reports). Default 0. */
  dropout?: number;
  /** Round deadline in simulated seconds (stragglers beyond it are late). Default none. */
  deadline?: number;
  /** σ of the log-normal device speed. Default 0.5. */
  latencySpread?: number;
  /** 'withheld': round summaries leave out the exact counts (see ServerOptions.statistics). */
  statistics?: 'exact' | 'withheld';
  seed?: number;
  onRound?: (round: RoundSummary) => void;
}

export interface RoundSummary extends RoundReport {
  accuracy: number;
  /** Examples stored on all devices (continual) or held (static). */
  storedExamples: number;
}

export interface SimulationResult {
  accuracy: number;
  rounds: RoundSummary[];
  clients: number;
  params: Float32Array;
  epsilon?: number;
  delta?: number;
  /** With DP: the noise multiplier z the rounds used (given, or calibrated to targetEpsilon). */
  noiseMultiplier?: number;
}

export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  // Everything is checked before the first round: a bad option must not surface rounds later.
  requiredObject('options', options);
  labelledDataset('options.train', options.train);
  labelledDataset('options.test', options.test);
  const partition = requiredObject('options.partition', options.partition);
  if (!Array.isArray(partition.clients)) {
    throw invalidType('options.partition.clients', 'an array of Int32Array', partition.clients);
  }
  partition.clients.forEach((c, k) =>
    exampleIndices(
      `options.partition.clients[${k}]`,
      typedArray(`options.partition.clients[${k}]`, c, 'Int32Array'),
      options.train.size,
    ),
  );
  withMethods('options.model', options.model, 'an FlModel', 'init', 'train', 'accuracy');
  nonNegativeInteger('options.rounds', options.rounds);
  if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) {
    throw invalidType('options.seed', 'a safe integer', options.seed);
  }
  const given = optionsObject('options.local', options.local);
  if (given.epochs !== undefined) nonNegativeInteger('options.local.epochs', given.epochs);
  if (given.batchSize !== undefined) positiveInteger('options.local.batchSize', given.batchSize);
  if (given.lr !== undefined) finiteNumber('options.local.lr', given.lr);
  if (options.mu !== undefined) nonNegativeFinite('options.mu', options.mu);
  if (options.dropout !== undefined && !(nonNegativeFinite('options.dropout', options.dropout) <= 1)) {
    throw invalidArgument('options.dropout', 'in [0, 1]', options.dropout);
  }
  if (options.latencySpread !== undefined) nonNegativeFinite('options.latencySpread', options.latencySpread);
  if (options.onRound !== undefined && typeof options.onRound !== 'function') {
    throw invalidType('options.onRound', 'a function', options.onRound);
  }
  if (options.continual !== undefined) requiredObject('options.continual', options.continual);
  if (options.dp !== undefined) requiredObject('options.dp', options.dp);
  if (options.dp?.delta === undefined && options.dp !== undefined && partition.clients.length === 0) {
    throw invalidArgument('options.partition.clients.length', 'positive', 0);
  }
  const seed = options.seed ?? 0;
  const algorithm = options.algorithm ?? 'fedavg';
  const local: LocalTrainingOptions = {
    epochs: options.local?.epochs ?? 1,
    batchSize: options.local?.batchSize ?? 16,
    lr: options.local?.lr ?? 0.1,
    mu: options.mu ?? (algorithm === 'fedprox' ? 0.01 : 0),
  };
  const parts = options.partition.clients;
  const streams = options.continual
    ? new ContinualStreams(
        parts,
        {
          capacity: options.continual.capacity,
          policy: options.continual.policy ?? 'fifo',
          initial: options.continual.initial ?? Math.min(options.continual.capacity, 10),
          perRound: options.continual.perRound ?? 5,
        },
        (k, purpose) => Random.derive(seed, 7, k, purpose === 'store' ? 1 : 2),
      )
    : undefined;
  const clients = parts.map(
    (idx, k) =>
      new FederatedClient(k, options.model, options.train, streams ? () => streams.stores[k]!.items : () => idx, local),
  );
  const activity = () => (streams ? streams.sizes() : parts.map((p) => p.length));
  const server = new FederatedServer({
    params: await options.model.init(Random.derive(seed, 1)),
    activity: activity(),
    selection: options.selection,
    ...(options.estimator ? { estimator: options.estimator } : {}),
    optimizer: algorithm === 'fedprox' ? 'fedavg' : algorithm,
    ...(options.serverOptimizer ? { optimizerOptions: options.serverOptimizer } : {}),
    ...(options.aggregation ? { aggregation: options.aggregation } : {}),
    ...(options.trim !== undefined ? { trim: options.trim } : {}),
    ...(options.byzantine !== undefined ? { byzantine: options.byzantine } : {}),
    ...(options.normBound !== undefined ? { normBound: options.normBound } : {}),
    ...(options.minReports !== undefined ? { minReports: options.minReports } : {}),
    ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
    ...(options.statistics !== undefined ? { statistics: options.statistics } : {}),
    ...(options.dp
      ? {
          dp: {
            ...(options.dp.noiseMultiplier !== undefined ? { noiseMultiplier: options.dp.noiseMultiplier } : {}),
            ...(options.dp.targetEpsilon !== undefined
              ? { targetEpsilon: options.dp.targetEpsilon, rounds: options.rounds }
              : {}),
            clipNorm: options.dp.clipNorm,
            delta: options.dp.delta ?? 1 / parts.length ** 1.1,
            noiseSeed: BigInt(seed) + 1n,
            ...(options.dp.adaptiveClip ? { adaptiveClip: options.dp.adaptiveClip } : {}),
            ...(options.dp.weightCap !== undefined ? { weightCap: options.dp.weightCap } : {}),
            ...(options.dp.accountant ? { accountant: options.dp.accountant } : {}),
          },
        }
      : {}),
    seed,
  });
  const dropout = options.dropout ?? 0;
  const spread = options.latencySpread ?? 0.5;
  const rounds: RoundSummary[] = [];
  let now = 0;
  for (let t = 0; t < options.rounds; t++) {
    if (streams && t > 0) {
      streams.advance();
      server.setActivity(streams.sizes());
    }
    const plan = server.beginRound(now);
    const arrivals: Array<{ at: number; report: Awaited<ReturnType<FederatedClient['train']>> }> = [];
    for (const k of plan.clients) {
      const rng = Random.derive(seed, 3, t, k);
      if (rng.next() < dropout) continue;
      // One client at a time: the clients share one model object (a tfjs model, a BuiltinModel).
      const report = await clients[k]!.train(plan.params, plan.round, rng);
      const work = (local.epochs * Math.max(report.samples, 1)) / 1000;
      arrivals.push({ at: now + work * Math.exp(spread * rng.normal()), report });
    }
    arrivals.sort((a, b) => a.at - b.at);
    for (const a of arrivals) server.submit(a.report, a.at);
    const report = await server.endRound();
    now = options.deadline !== undefined ? now + options.deadline : Math.max(now, ...arrivals.map((a) => a.at));
    const summary: RoundSummary = {
      ...report,
      accuracy: await options.model.accuracy(server.params, options.test),
      storedExamples: activity().reduce((a, b) => a + b, 0),
    };
    rounds.push(summary);
    options.onRound?.(summary);
  }
  const last = rounds[rounds.length - 1];
  return {
    accuracy: last?.accuracy ?? (await options.model.accuracy(server.params, options.test)),
    rounds,
    clients: parts.length,
    params: server.params,
    ...(server.dp
      ? {
          epsilon: server.dp.accountant.epsilon(server.dp.delta),
          delta: server.dp.delta,
          noiseMultiplier: server.dp.noiseMultiplier,
        }
      : {}),
  };
}
