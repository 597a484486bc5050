// Crash safety: a server closed mid-round (nothing written on the way down) and a new one started on
// the same database reopen the round with the same plan, count the accepted uploads once, refuse
// replays, and end with the params (and, with DP, the ε) of an uninterrupted run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BuiltinModel } from '../../../src/fl/builtin-model.js';
import type { StatusResponse } from '../../../src/fl/client/protocol.js';
import type { FlServerConfig } from '../../../src/fl/net/config.js';
import type { FlEvent } from '../../../src/fl/net/coordinator.js';
import { createFlServer } from '../../../src/fl/net/server.js';
import { FederatedServer, type ServerOptions } from '../../../src/fl/server.js';
import { baseConfig, client, frameOf, SAMPLES, until, updateOf } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dpfl-net-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = { kind: 'linear' as const, inputDim: 4, input: 'dense' as const, classes: 3 };
const dim = new BuiltinModel(spec).dim;

/** The uninterrupted run: an in-process FederatedServer fed the same updates (equal to HTTP: server.test.ts). */
async function reference(o: Partial<ServerOptions>, rounds: number) {
  const ref = new FederatedServer({
    params: new BuiltinModel(spec, 0).init(),
    activity: SAMPLES,
    selection: { method: 'uniform', perRound: 3 },
    seed: 5,
    deadline: 30,
    ...o,
  });
  let epsilon: number | undefined;
  for (let r = 0; r < rounds; r++) {
    const plan = ref.beginRound(0);
    for (const k of plan.clients)
      ref.submit({ client: k, round: r, update: updateOf(dim, r, k), samples: SAMPLES[k]! }, 0);
    epsilon = (await ref.endRound()).epsilon;
  }
  return { params: ref.params, epsilon };
}

async function runWithCrash(config: FlServerConfig) {
  // First life: tokens, registration, round 0 whole, round 1 with two of three uploads; then a crash.
  const a = createFlServer(config);
  const tokens = a.issueTokens([0, 1, 2, 3]).map((t) => t.token);
  let url = await a.listen();
  for (let k = 0; k < 4; k++) await client(url, tokens[k]!).register(SAMPLES[k]!);
  const selectedIn = async (url: string) => {
    const out: number[] = [];
    for (let k = 0; k < 4; k++) if ((await client(url, tokens[k]!).get('/v1/task')).status === 200) out.push(k);
    return out;
  };
  const upload = (url: string, r: number, k: number) =>
    client(url, tokens[k]!).upload(r, frameOf(r, updateOf(dim, r, k), SAMPLES[k]!));
  await until(() => a.coordinator.state === 'open');
  for (const k of await selectedIn(url)) expect((await upload(url, 0, k)).status).toBe(200);
  await until(() => a.coordinator.state === 'open' && a.coordinator.status().round === 1);
  const plan1 = await selectedIn(url);
  const [first, second, third] = plan1 as [number, number, number];
  expect((await upload(url, 1, first)).status).toBe(200);
  const nan = updateOf(dim, 1, second);
  nan[0] = Number.NaN;
  expect((await client(url, tokens[second]!).upload(1, frameOf(1, nan, 1))).status).toBe(422);
  await a.close(); // the crash: nothing is written on the way down

  // Second life on the same database.
  const b = createFlServer(config);
  url = await b.listen();
  const status = (await (await client(url, tokens[0]!).get('/v1/status')).json()) as StatusResponse;
  expect(status).toMatchObject({ round: 1, open: true, roundsDone: 1 });
  expect(await selectedIn(url)).toEqual([third]); // the same plan; the two who reported have nothing to do
  expect(b.coordinator.store.uploads(1).map((u) => [u.client, u.outcome])).toEqual([
    [first, 'accepted'],
    [second, 'nonFinite'],
  ]);
  const replay = await upload(url, 1, first);
  expect(replay.status).toBe(409);
  expect((await upload(url, 1, second)).status).toBe(409);
  // The corrected second client cannot sneak in; the third completes the round.
  expect((await upload(url, 1, third)).status).toBe(200);
  await until(() => b.coordinator.state === 'open' && b.coordinator.status().round === 2);
  for (const k of await selectedIn(url)) expect((await upload(url, 2, k)).status).toBe(200);
  await until(() => b.coordinator.state === 'finished');
  const report = b.coordinator.store.reports()[1]!;
  expect(report).toMatchObject({ accepted: 2, rejected: expect.objectContaining({ nonFinite: 1 }) });
  const final = (await (await client(url, tokens[0]!).get('/v1/status')).json()) as StatusResponse;
  const params = Float32Array.from(b.coordinator.server.params);
  await b.close();
  return { params, epsilon: final.epsilon, second };
}

describe('restart mid-round on the same database', () => {
  it('resumes the round with its plan; uploads counted once; final params equal an uninterrupted run', async () => {
    const config = baseConfig({ database: join(dir, 'plain.db') });
    const { params, second } = await runWithCrash(config);
    // The uninterrupted run where the second client's round-1 report was the rejected NaN one.
    const ref = new FederatedServer({
      params: new BuiltinModel(spec, 0).init(),
      activity: SAMPLES,
      selection: { method: 'uniform', perRound: 3 },
      seed: 5,
      optimizer: 'fedadam',
      deadline: 30,
    });
    for (let r = 0; r < 3; r++) {
      const plan = ref.beginRound(0);
      for (const k of plan.clients) {
        const u = updateOf(dim, r, k);
        if (r === 1 && k === second) u[0] = Number.NaN;
        ref.submit({ client: k, round: r, update: u, samples: r === 1 && k === second ? 1 : SAMPLES[k]! }, 0);
      }
      await ref.endRound();
    }
    expect(params).toEqual(ref.params);
  });

  it('with DP-FedAvg (seeded noise, adaptive clipping): ε and params after resume equal uninterrupted', async () => {
    const dp = { noiseMultiplier: 1.2, clipNorm: 0.8, adaptiveClip: { countNoise: 1 }, delta: 1e-5, noiseSeed: 11 };
    const config = baseConfig({ database: join(dir, 'dp.db'), optimizer: 'fedavg', dp });
    const { params, epsilon, second } = await runWithCrash(config);
    const o: Partial<ServerOptions> = { optimizer: 'fedavg', dp: { ...dp, noiseSeed: 11n } };
    const ref = new FederatedServer({
      params: new BuiltinModel(spec, 0).init(),
      activity: SAMPLES,
      selection: { method: 'uniform', perRound: 3 },
      seed: 5,
      deadline: 30,
      ...o,
    });
    let refEpsilon: number | undefined;
    for (let r = 0; r < 3; r++) {
      const plan = ref.beginRound(0);
      for (const k of plan.clients) {
        const u = updateOf(dim, r, k);
        if (r === 1 && k === second) u[0] = Number.NaN;
        ref.submit({ client: k, round: r, update: u, samples: r === 1 && k === second ? 1 : SAMPLES[k]! }, 0);
      }
      refEpsilon = (await ref.endRound()).epsilon;
    }
    expect(epsilon).toBeGreaterThan(0);
    expect(epsilon).toBe(refEpsilon);
    expect(params).toEqual(ref.params);
    // Three rounds charged, not four: the reopened round was not charged twice.
    expect(ref.dp!.accountant.releases).toBe(3);
    const uninterrupted = await reference(o, 3);
    expect(uninterrupted.epsilon).toBe(epsilon);
  });

  it('a round whose deadline passed while the server was down closes as soon as it restarts', async () => {
    const config = baseConfig({ database: join(dir, 'deadline.db'), roundSeconds: 0.5, rounds: 2 });
    const a = createFlServer(config);
    const tokens = a.issueTokens([0, 1, 2, 3]).map((t) => t.token);
    let url = await a.listen();
    for (let k = 0; k < 4; k++) await client(url, tokens[k]!).register(SAMPLES[k]!);
    await until(() => a.coordinator.state === 'open');
    const k = a.coordinator.store.plan(0)!.selection.clients[0]!;
    expect((await client(url, tokens[k]!).upload(0, frameOf(0, updateOf(dim, 0, k), SAMPLES[k]!))).status).toBe(200);
    await a.close();
    await new Promise((r) => setTimeout(r, 700));
    const events: FlEvent[] = [];
    const b = createFlServer(config, { onEvent: (e) => events.push(e) });
    url = await b.listen();
    await until(() => events.some((e) => e.type === 'roundClosed'));
    const closed = events.find((e) => e.type === 'roundClosed') as Extract<FlEvent, { type: 'roundClosed' }>;
    expect(closed.report).toMatchObject({ round: 0, accepted: 1, dropped: 2, applied: true });
    expect(events.filter((e) => e.type === 'roundOpened').map((e) => (e as { round: number }).round)).toEqual([0, 1]);
    await b.close();
  });

  it('one server per database: a second one is refused until the first closes', async () => {
    const config = baseConfig({ database: join(dir, 'single.db') });
    const a = createFlServer(config);
    expect(() => createFlServer(config)).toThrow(/no other server/);
    await a.close();
    const b = createFlServer(config);
    await b.close();
  });

  it("removes SQLite's lock directory left by a process killed inside a transaction", async () => {
    const file = join(dir, 'stale.db');
    await createFlServer(baseConfig({ database: file })).close();
    mkdirSync(`${file}.lock`);
    const old = new Date(Date.now() - 120_000);
    utimesSync(`${file}.lock`, old, old);
    const s = createFlServer(baseConfig({ database: file }));
    expect(s.issueTokens([1])).toHaveLength(1); // a write went through
    await s.close();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('a server restarted at once after a kill -9 inside a transaction takes over its fresh lock directory', async () => {
    const file = join(dir, 'killed.db');
    await createFlServer(baseConfig({ database: file })).close();
    // What a server killed mid-commit leaves: its pid file (the process is gone) and a fresh lock.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(`${file}.server`, String(dead));
    mkdirSync(`${file}.lock`);
    const s = createFlServer(baseConfig({ database: file }));
    expect(s.issueTokens([2])).toHaveLength(1); // a write went through, without waiting 30 s
    await s.close();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('refuses a database made under other round rules', () => {
    const file = join(dir, 'plain.db');
    expect(() => createFlServer(baseConfig({ database: file, selection: { method: 'uniform', perRound: 2 } }))).toThrow(
      /round rules this database was created with/,
    );
  });
});
