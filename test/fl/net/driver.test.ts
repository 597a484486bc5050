// The round driver's timing and the config's checks: deadlines close rounds with dropouts, minClients
// gates round 0, 'reported' activity comes from registrations (capped), bad configs are typed errors.
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig, type FlServerConfig } from '../../../src/fl/net/config.js';
import type { FlEvent } from '../../../src/fl/net/coordinator.js';
import { createFlServer, type FlServer } from '../../../src/fl/net/server.js';
import { baseConfig, client, frameOf, start, until, updateOf } from './helpers.js';

const servers: FlServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

describe('round driver', () => {
  it('waits for minClients, closes a round at its deadline and counts the silent clients as dropped', async () => {
    const events: FlEvent[] = [];
    // A 2 s deadline: long enough for one upload on a loaded 2-core machine under ASan, short for a test.
    const { server, url, tokens } = await start(baseConfig({ roundSeconds: 2, minClients: 2, rounds: 1 }), events);
    servers.push(server);
    await client(url, tokens[0]!).register(10);
    expect(events.at(-1)).toMatchObject({ type: 'waiting', registered: 1, needed: 2 });
    expect(server.coordinator.state).toBe('waiting');
    await client(url, tokens[1]!).register(10);
    await until(() => server.coordinator.state === 'open');
    let uploaded = 0;
    for (const k of [0, 1]) {
      if ((await client(url, tokens[k]!).get('/v1/task')).status !== 200) continue;
      const up = await client(url, tokens[k]!).upload(0, frameOf(0, updateOf(server.coordinator.dim, 0, k), 10));
      expect(up.status).toBe(200);
      uploaded += 1;
      break; // one report only: the others stay silent
    }
    const t0 = Date.now();
    await until(() => server.coordinator.state === 'finished', 15_000);
    expect(Date.now() - t0).toBeLessThan(10_000); // closed by the deadline, not by a later poll
    const closed = events.find((e) => e.type === 'roundClosed') as Extract<FlEvent, { type: 'roundClosed' }>;
    expect(closed.report.selected).toBe(3);
    expect(closed.report.accepted).toBe(uploaded);
    expect(closed.report.dropped).toBe(3 - uploaded);
  });

  it('tells a client with nothing to do to poll again within pollSeconds, not at the round deadline', async () => {
    const config = baseConfig({ roundSeconds: 300, pollSeconds: 0.5, minClients: 1, rounds: 2 });
    const { server, url, tokens } = await start(config);
    servers.push(server);
    for (const t of tokens) await client(url, t).register(10);
    await until(() => server.coordinator.state === 'open');
    const selected = server.coordinator.store.plan(0)!.selection.clients;
    const k = selected[0]!;
    expect(
      (await client(url, tokens[k]!).upload(0, frameOf(0, updateOf(server.coordinator.dim, 0, k), 10))).status,
    ).toBe(200);
    // Reported: 204 with a Retry-After of at most pollSeconds, though the round stays open 300 s.
    const again = await client(url, tokens[k]!).get('/v1/task');
    expect(again.status).toBe(204);
    expect(Number(again.headers.get('retry-after'))).toBeLessThanOrEqual(0.5);
    expect(() => resolveConfig(baseConfig({ pollSeconds: 0 }))).toThrow('config.pollSeconds must be');
  });

  it("activity 'reported': registered samples, capped by maxSamples, drive activity selection", async () => {
    const events: FlEvent[] = [];
    const config = baseConfig({
      clients: { population: 4, activity: 'reported', maxSamples: 50 },
      selection: { method: 'activity', perRound: 2 },
      minClients: 2,
      rounds: 1,
    });
    const { server, url, tokens } = await start(config, events);
    servers.push(server);
    await client(url, tokens[1]!).register(10);
    await client(url, tokens[3]!).register(1_000_000); // capped at 50
    await until(() => server.coordinator.state === 'open');
    const plan = server.coordinator.store.plan(0)!;
    expect(plan.activity).toEqual([0, 10, 0, 50]);
    expect(plan.selection.clients).toEqual([1, 3]); // clients without samples are never drawn by activity
    // The capped weight: the report claiming 10^6 samples counts as 50.
    const up = await client(url, tokens[3]!).upload(0, frameOf(0, updateOf(server.coordinator.dim, 0, 3), 1_000_000));
    expect(up.status).toBe(200);
    await client(url, tokens[1]!).upload(0, frameOf(0, updateOf(server.coordinator.dim, 0, 1), 10));
    await until(() => server.coordinator.state === 'finished');
    expect(
      (events.find((e) => e.type === 'roundClosed') as { report: { samplesCapped: number } }).report.samplesCapped,
    ).toBe(1);
  });
});

describe('DP budget', () => {
  it("a round the budget cannot pay for is not begun: the federation finishes with reason 'budget'", async () => {
    const events: FlEvent[] = [];
    const dp = { targetEpsilon: 5, rounds: 1, clipNorm: 1, delta: 1e-5 };
    const { server, url, tokens } = await start(baseConfig({ dp, optimizer: 'fedavg', rounds: 3 }), events);
    servers.push(server);
    for (let k = 0; k < 4; k++) await client(url, tokens[k]!).register(10);
    await until(() => server.coordinator.state === 'open');
    for (let k = 0; k < 4; k++) {
      if ((await client(url, tokens[k]!).get('/v1/task')).status !== 200) continue;
      await client(url, tokens[k]!).upload(0, frameOf(0, updateOf(server.coordinator.dim, 0, k), 10));
    }
    await until(() => server.coordinator.state === 'finished');
    expect(events.at(-1)).toEqual({ type: 'finished', rounds: 1, reason: 'budget' });
    const status = (await (await client(url, tokens[0]!).get('/v1/status')).json()) as { epsilon: number };
    expect(status.epsilon).toBeLessThanOrEqual(5);
    expect((await client(url, tokens[0]!).get('/v1/task')).status).toBe(410);
  });
});

describe('config checks', () => {
  const bad: [string, Partial<FlServerConfig> | Record<string, unknown>, RegExp][] = [
    ['unknown field', { rouns: 3 }, /unknown fields/],
    ['port', { listen: { port: 70000 } }, /config.listen.port must be an integer in \[0, 65535\]/],
    ['rounds', { rounds: 0 }, /config.rounds must be a positive integer/],
    ['activity length', { clients: { population: 4, activity: [1, 2] } }, /config.clients.activity.length/],
    ['reported without cap', { clients: { population: 4, activity: 'reported' } }, /config.clients.maxSamples/],
    ['minClients', { minClients: 9 }, /config.minClients must be at most the population/],
    ['training', { training: { epochs: 1, batchSize: 0, lr: 0.1, mu: 0 } }, /config.training.batchSize/],
    ['model', { model: { dim: 3, init: 'random' } as never }, /config.model.init/],
    ['noise seed', { dp: { clipNorm: 1, delta: 1e-5, noiseMultiplier: 1, noiseSeed: -1 } }, /config.dp.noiseSeed/],
    ['limits', { limits: { requestsPerMinute: 0 } }, /config.limits.requestsPerMinute/],
  ];
  for (const [name, patch, message] of bad) {
    it(`refuses ${name}`, () => {
      expect(() => resolveConfig({ ...baseConfig(), ...patch } as FlServerConfig)).toThrow(message);
    });
  }
  it('the round rules are checked by FederatedServer, as config errors', () => {
    expect(() =>
      createFlServer(
        baseConfig({
          selection: { method: 'activity', perRound: 2 },
          dp: { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5 },
        }),
      ),
    ).toThrow(/^config: selection.method must be 'uniform' or 'poisson' with DP/);
    expect(() =>
      createFlServer(baseConfig({ model: { kind: 'linear', inputDim: 0, input: 'dense', classes: 2 } })),
    ).toThrow(/^config: spec.inputDim/);
  });

  it('fills defaults and resolves paths from the config directory', () => {
    const c = resolveConfig({ ...baseConfig(), database: 'x.db', tls: { cert: 'c.pem', key: 'k.pem' } }, '/srv/fl');
    expect(c).toMatchObject({ database: '/srv/fl/x.db', tls: { cert: '/srv/fl/c.pem', key: '/srv/fl/k.pem' } });
    expect(c.limits).toEqual({ maxJsonBytes: 65536, requestsPerMinute: 600 });
  });
});
