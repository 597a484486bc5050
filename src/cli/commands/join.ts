// `dpfl join`: one client process of a networked federation (`dpfl serve`). It rebuilds the data and
// model of `dpfl federate` from the same flags (federation-data.ts), takes its own shard (client k
// of the partition, k from --client or the token's `<client id>.<secret>`), and runs
// joinFederation until the federation ends.
import { joinFederation, type JoinEvent } from '../../fl/client/index.js';
import { flagOptions, parseCommandArgs, stringOptions, type Command } from '../command.js';
import { optionParser } from '../options.js';
import { FEDERATION_DATA_OPTIONS, federationData } from './federation-data.js';

const HELP = `usage: dpfl join --url URL [--token T] [--client K]
         [--dataset synthetic|spam|mnist] [--model linear|mlp|text] [--partition iid|label|quantity|natural]
         [--alpha A] [--beta B] [--clients N] [--seed S] [--data-seed S] [--examples N] [--data-dir DIR]
         [--validation] [--train-seed S] [--max-rounds R] [--poll SECONDS] [--json]

Joins the federation served at URL (dpfl serve) as one client: registers with its number of local
examples, polls for tasks, trains the global model locally on its examples when selected, uploads
the update, and evaluates the global model on its examples when the server asks; until the server
says the federation has finished (410), or --max-rounds rounds. Prints one line per event to stderr
and a summary (--json: one JSON object { client, rounds, accepted, refused, evaluations, stopped }).
The token is --token or the environment variable DPFL_TOKEN (keeps it out of the process list).
Local data: the flags of dpfl federate (same names, same defaults) rebuild the same dataset, split
and partition in every process; this client takes part K of the partition, K being --client or the
client id of the token (<client id>.<secret>). Give the server and every client the same flags, and
the networked run trains on the data the simulation \`dpfl federate\` would.
Local training draws from the OS CSPRNG; --train-seed S draws round t of client K from the stream
dpfl federate --seed S gives it (reproducible, for experiments only).`;

const OPTIONS = {
  ...FEDERATION_DATA_OPTIONS,
  ...stringOptions('url', 'token', 'client', 'train-seed', 'max-rounds', 'poll'),
  ...flagOptions('validation'),
} as const;

const { fail, integer, positive } = optionParser('math');

function describeEvent(e: JoinEvent): string | undefined {
  switch (e.type) {
    case 'registered':
      return `registered as client ${e.client} (${e.samples} examples, model of ${e.dim} parameters)`;
    case 'trained':
      return `round ${e.round}: trained on ${e.samples} examples`;
    case 'uploaded':
      return `round ${e.round}: update accepted`;
    case 'evaluated':
      return `round ${e.round}: ${Object.entries(e.metrics)
        .map(([k, v]) => `${k} ${v.toFixed(4)}`)
        .join('  ')}`;
    case 'refused':
      return `round ${e.round}: ${e.step} refused (${e.status} ${e.error}${e.reason ? `: ${e.reason}` : ''})`;
    case 'retry':
      return `${e.step} failed (${e.cause}); retry ${e.attempt} in ${e.seconds.toFixed(1)} s`;
    case 'stopped':
      return `stopped: ${e.reason}`;
    default:
      return undefined; // waiting and task: too many to print
  }
}

export const join: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(argv, OPTIONS);
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (values.url === undefined) fail('url', 'given (the address of dpfl serve)', 'absent');
    const token = values.token ?? process.env.DPFL_TOKEN ?? '';
    if (token === '') fail('token', 'given (or the environment variable DPFL_TOKEN)', 'absent');
    const fromToken = /^(\d+)\./.exec(token)?.[1];
    if (values.client === undefined && fromToken === undefined) {
      fail('client', 'given when the token does not start with the client id (<client id>.<secret>)', 'absent');
    }
    const client = integer('client', values.client ?? fromToken, undefined, 0);
    const { train, partition, model } = federationData(values);
    if (client >= partition.clients.length) {
      fail('client', `a part of the partition, in [0, ${partition.clients.length})`, client);
    }
    const trainSeed =
      values['train-seed'] !== undefined ? integer('train-seed', values['train-seed'], 0, 0) : undefined;
    const maxRounds =
      values['max-rounds'] !== undefined ? integer('max-rounds', values['max-rounds'], 1, 1) : undefined;
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const summary = await joinFederation({
        url: values.url!,
        token,
        model,
        data: train,
        examples: partition.clients[client]!,
        signal: controller.signal,
        agent: 'dpfl join',
        ...(trainSeed !== undefined ? { seed: trainSeed } : {}),
        ...(maxRounds !== undefined ? { maxRounds } : {}),
        ...(values.poll !== undefined ? { pollSeconds: positive('poll', values.poll) } : {}),
        onEvent: (e) => {
          if (e.type === 'registered' && e.client !== client) {
            console.error(`dpfl join: warning: the server calls this client ${e.client}, its data are part ${client}`);
          }
          const line = describeEvent(e);
          if (line !== undefined) console.error(`dpfl join: ${line}`);
        },
      });
      if (values.json) console.log(JSON.stringify({ ...summary, part: client }));
      else {
        console.log(
          `client ${summary.client ?? client}: ${summary.rounds} round${summary.rounds === 1 ? '' : 's'} trained, ` +
            `${summary.accepted} accepted, ${summary.refused} refused, ${summary.evaluations} evaluations (${summary.stopped})`,
        );
      }
      return 0;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};
