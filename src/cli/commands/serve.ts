// `dpfl serve`: the federated-learning coordinator over HTTP(S) (src/fl/net), and `dpfl serve token`,
// which issues and revokes client tokens in the server's database.
import type { FlEvent } from '../../fl/net/coordinator.js';
import type { FlServer } from '../../fl/net/server.js';
import { parseCommandArgs, stringOptions, usageError, type Command } from '../command.js';
import { optionParser } from '../options.js';

const HELP = `usage: dpfl serve --config fl.json [--linger SECONDS] [--json]
       dpfl serve token --config fl.json (--client K | --clients 0-19,25 | --revoke K) [--json]

Runs the federated coordinator of the config file (docs/fl-server.md): clients register, poll
/v1/task, download the model, upload their update and (every evaluateEvery rounds) an evaluation.
Rounds, uploads, checkpoints and reports are kept in the config's SQLite database: a server
restarted on the same database resumes the round that was open, with the same plan. Progress goes
to stderr; --json prints one JSON object per event on stdout instead. SIGINT / SIGTERM stop the
server cleanly (no state is lost: every decision is on disk when it is answered). Once all rounds
have run the server keeps answering for --linger seconds (default 10: clients fetch the final
model and learn from /v1/task's 410 that it is over), then exits 0.

token: prints a new token for client K (its earlier token stops working), or one per client of a
list (--clients; with --json a JSON array [{client, token}]); --revoke K makes K's token answer 401.
Tokens are shown once: the database keeps only a SHA-256 of each secret.`;

const OPTIONS = stringOptions('config', 'linger', 'client', 'clients', 'revoke');

const opt = optionParser('prose');

function describe(e: FlEvent): string {
  switch (e.type) {
    case 'listening':
      return `listening on ${e.url}`;
    case 'registered':
      return `client ${e.client} registered (${e.samples} samples; ${e.registered} registered)`;
    case 'waiting':
      return `waiting for clients: ${e.registered} of ${e.needed} registered`;
    case 'roundOpened': {
      const resumed = e.resumed ? ` (resumed after a restart, ${e.replayed} uploads replayed)` : '';
      return `round ${e.round} open: ${e.selected} selected, deadline ${new Date(e.deadline).toISOString()}${resumed}`;
    }
    case 'upload':
      return `round ${e.round}: client ${e.client} ${e.outcome}`;
    case 'secureStage':
      return `round ${e.round}: secure aggregation ${e.stage} (${e.clients} clients)${e.reason ? `: ${e.reason}` : ''}`;
    case 'roundClosed': {
      const r = e.report;
      const counts = r.accepted === undefined ? '' : ` ${r.accepted}/${r.selected} accepted, ${r.dropped} dropped,`;
      const applied = r.applied ? ` applied, |delta| ${r.deltaNorm?.toPrecision(4)}` : ` not applied (${r.reason})`;
      const eps = r.epsilon === undefined ? '' : `, epsilon ${r.epsilon.toFixed(4)} at delta ${r.delta}`;
      const ev = e.evaluation
        ? `; evaluation (${e.evaluation.clients} clients, ${e.evaluation.samples} samples): ${Object.entries(
            e.evaluation.metrics,
          )
            .map(([k, v]) => `${k} ${v.toPrecision(4)}`)
            .join(', ')}`
        : '';
      return `round ${e.round} closed:${counts}${applied}${eps}${ev}`;
    }
    case 'finished':
      return `finished after ${e.rounds} rounds${e.reason === 'budget' ? ' (privacy budget spent)' : ''}`;
    case 'error':
      return `${e.fatal ? 'error' : 'warning'}: ${e.message}`;
  }
}

async function token(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, OPTIONS);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const { loadConfig } = await import('../../fl/net/config.js');
  const { FlStore } = await import('../../fl/net/store.js');
  const { issueTokens, parseClientList } = await import('../../fl/net/admin.js');
  let store: InstanceType<typeof FlStore> | undefined;
  try {
    if (values.config === undefined) opt.fail('config', 'a JSON config file', 'nothing');
    const config = loadConfig(values.config!);
    if (config.database === ':memory:')
      opt.fail('config', "a config whose database is a file, not ':memory:'", config.database);
    const given = [values.client, values.clients, values.revoke].filter((v) => v !== undefined).length;
    if (given !== 1) opt.fail('client', 'given alone, or --clients or --revoke (exactly one)', `${given} of them`);
    const population = config.clients.population;
    store = new FlStore(config.database);
    if (values.revoke !== undefined) {
      const k = opt.integer('revoke', values.revoke, undefined, 0);
      const done = store.revoke(k);
      if (values.json) console.log(JSON.stringify({ client: k, revoked: done }));
      else console.error(done ? `client ${k}: token revoked` : `client ${k} has no token`);
      return done ? 0 : 1;
    }
    const ids =
      values.client !== undefined
        ? [opt.integer('client', values.client, undefined, 0)]
        : parseClientList(values.clients!);
    const issued = issueTokens(store, population, ids);
    if (values.json) console.log(JSON.stringify(values.client !== undefined ? issued[0] : issued));
    else if (values.client !== undefined) console.log(issued[0]!.token);
    else for (const t of issued) console.log(`${t.client}\t${t.token}`);
    return 0;
  } catch (error) {
    return usageError('serve token', error);
  } finally {
    store?.close();
  }
}

export const serve: Command = {
  async run(argv) {
    if (argv[0] === 'token') return token(argv.slice(1));
    const { values } = parseCommandArgs(argv, OPTIONS);
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const { loadConfig } = await import('../../fl/net/config.js');
    const { createFlServer } = await import('../../fl/net/server.js');
    let server: FlServer;
    let linger: number;
    try {
      if (values.config === undefined) opt.fail('config', 'a JSON config file', 'nothing');
      for (const f of ['client', 'clients', 'revoke'] as const)
        if (values[f] !== undefined) opt.fail(f, 'given only to `dpfl serve token`', values[f]);
      linger = opt.where('linger', values.linger, 10, (v) => v >= 0, 'a non-negative number of seconds');
      const config = loadConfig(values.config!);
      let finish: (code: number) => void = () => {};
      const done = new Promise<number>((resolve) => {
        finish = resolve;
      });
      server = createFlServer(config, {
        onEvent: (e) => {
          if (values.json) process.stdout.write(`${JSON.stringify(e)}\n`);
          else console.error(`dpfl serve: ${describe(e)}`);
          if (e.type === 'finished') setTimeout(() => finish(0), linger * 1000).unref();
          if (e.type === 'error' && e.fatal) finish(1);
        },
      });
      const stop = () => finish(0);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await server.listen();
      } catch (error) {
        await server.close();
        throw error;
      }
      const code = await done;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await server.close();
      return code;
    } catch (error) {
      return usageError('serve', error);
    }
  },
};
