// `dpfl join` as users run it (the compiled dist/cli/main.js): 20 client processes, each rebuilding
// the dataset and partition of `dpfl federate` from the same flags and taking its own part, join the
// fake coordinator for two rounds. Each round-0 upload is replayed in process: the same shard, the
// simulation's training stream (--train-seed = --seed), the same update.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { federationData } from '../../../src/cli/commands/federation-data.js';
import { Random } from '../../../src/data/random.js';
import { FederatedClient } from '../../../src/fl/client.js';
import { type FakeCoordinator, startFakeCoordinator } from './fake-coordinator.js';

const run = promisify(execFile);
const main = new URL('../../../dist/cli/main.js', import.meta.url).pathname;
const CLIENTS = 20;
const flags = { dataset: 'synthetic', examples: '1000', clients: String(CLIENTS), partition: 'label', seed: '5' };
const argv = Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]);
const training = { epochs: 1, batchSize: 16, lr: 0.1, mu: 0 };
let fake: FakeCoordinator | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('dpfl join', () => {
  it(`${CLIENTS} client processes each train on their own part of the federate partition`, async () => {
    const { partition, model, train } = federationData(flags);
    const tokens = Object.fromEntries(Array.from({ length: CLIENTS }, (_, k) => [`${k}.s${k}`, k]));
    // perRound: a round waits for all 20 (a process that starts late on a loaded machine is not left out).
    fake = await startFakeCoordinator({
      dim: model.dim,
      rounds: 2,
      tokens,
      training,
      evaluate: true,
      perRound: CLIENTS,
    });
    const url = fake.url;
    const outputs = await Promise.all(
      Array.from({ length: CLIENTS }, (_, k) =>
        run('node', [main, 'join', '--url', url, ...argv, '--train-seed', '5', '--poll', '0.05', '--json'], {
          env: { ...process.env, DPFL_TOKEN: `${k}.s${k}`, DPFL_THREADS: '1' },
        }),
      ),
    );
    outputs.forEach(({ stdout }, k) => {
      expect(JSON.parse(stdout)).toEqual({
        client: k,
        part: k,
        rounds: 2,
        accepted: 2,
        refused: 0,
        evaluations: 2,
        lastRound: 1,
        stopped: 'finished',
      });
    });
    expect(fake.badFrames).toEqual([]);
    for (let k = 0; k < CLIENTS; k++) expect(fake.registered.get(k)).toBe(partition.clients[k]!.length);
    expect(fake.evaluations).toHaveLength(2 * CLIENTS);
    // Round 0 from the linear model's zero start, replayed in process.
    const zero = new Float32Array(model.dim);
    for (const u of fake.uploads.filter((x) => x.round === 0)) {
      const rng = Random.derive(5, 3, 0, u.client);
      rng.next();
      const client = new FederatedClient(u.client, model, train, () => partition.clients[u.client]!, training);
      const expected = await client.train(zero, 0, rng);
      expect(u.samples).toBe(expected.samples);
      let diff = 0;
      for (let j = 0; j < model.dim; j++) diff = Math.max(diff, Math.abs(u.payload[j]! - expected.update[j]!));
      expect(diff).toBeLessThan(1e-6);
    }
  }, 120_000);

  it('refuses missing or bad flags with a message naming them', async () => {
    const fail = (args: string[], env: Record<string, string> = {}) =>
      run('node', [main, 'join', ...args], { env: { ...process.env, DPFL_TOKEN: '', ...env } }).catch(
        (e: { stderr: string }) => e.stderr,
      );
    expect(await fail([])).toMatch(/--url must be given/);
    expect(await fail(['--url', 'http://127.0.0.1:1'])).toMatch(/--token must be given/);
    expect(await fail(['--url', 'http://127.0.0.1:1', '--token', 'secret'])).toMatch(/--client must be given when/);
    expect(await fail(['--url', 'http://127.0.0.1:1', '--token', '200.x', ...argv])).toMatch(
      /--client must be a part of the partition, in \[0, 20\)/,
    );
  });
});
