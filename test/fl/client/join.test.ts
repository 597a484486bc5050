// joinFederation against the fake coordinator in process: the happy path (its uploads are the
// simulation's updates), polling with Retry-After, 410, 401, 409, retries with backoff, abort, and
// the refusals a client must not survive silently.
import { afterEach, describe, expect, it } from 'vitest';
import { syntheticDense } from '../../../src/data/synthetic.js';
import { Random } from '../../../src/data/random.js';
import { isDpflError } from '../../../src/errors.js';
import { FederatedClient } from '../../../src/fl/client.js';
import { FederationError, joinFederation, type JoinEvent, type JoinOptions } from '../../../src/fl/client/index.js';
import { SoftmaxRegression } from '../softmax-model.js';
import { type FakeCoordinator, type FakeOptions, startFakeCoordinator } from './fake-coordinator.js';

const data = syntheticDense({ size: 120, dim: 6, classes: 3, seed: 4 });
const model = new SoftmaxRegression(6, 3);
const training = { epochs: 2, batchSize: 8, lr: 0.5, mu: 0 };
const fast = { baseSeconds: 0.005, capSeconds: 0.02, maxFailures: 4 };
let fake: FakeCoordinator | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function start(o: Partial<FakeOptions> = {}): Promise<FakeCoordinator> {
  fake = await startFakeCoordinator({ dim: model.dim, rounds: 3, tokens: { 'a.1': 0, 'b.2': 1 }, training, ...o });
  return fake;
}

function join(f: FakeCoordinator, o: Partial<JoinOptions> = {}, events: JoinEvent[] = []) {
  return joinFederation({
    url: f.url,
    token: 'a.1',
    model,
    data,
    pollSeconds: 0.01,
    backoff: fast,
    onEvent: (e) => events.push(e),
    ...o,
  });
}

describe('joinFederation', () => {
  it('takes part in every round until 410: its uploads are the simulation updates of the same seed', async () => {
    const f = await start({ evaluate: true });
    const examples = Int32Array.from({ length: 50 }, (_, i) => 2 * i);
    const events: JoinEvent[] = [];
    const summary = await join(f, { examples, seed: 9 }, events);
    expect(summary).toEqual({
      client: 0,
      rounds: 3,
      accepted: 3,
      refused: 0,
      evaluations: 3,
      lastRound: 2,
      stopped: 'finished',
    });
    expect(f.registered.get(0)).toBe(50);
    expect(f.badFrames).toEqual([]);
    expect(f.uploads.map((u) => [u.round, u.samples, u.payload.length])).toEqual([
      [0, 50, model.dim],
      [1, 50, model.dim],
      [2, 50, model.dim],
    ]);
    // Replay in process: FederatedClient from the same global, the stream simulate() gives client 0.
    const reference = new FederatedClient(0, model, data, () => examples, training);
    let global = new Float32Array(model.dim);
    for (const u of f.uploads) {
      const rng = Random.derive(9, 3, u.round, 0);
      rng.next();
      const expected = await reference.train(global, u.round, rng);
      expect(Array.from(u.payload)).toEqual(Array.from(expected.update));
      global = global.map((w, j) => w + expected.update[j]!);
    }
    expect(Array.from(f.global)).toEqual(Array.from(global));
    // Evaluations: the global model each round started from, on the client's 50 examples.
    expect(f.evaluations.map((e) => [e.round, e.samples, Object.keys(e.metrics)])).toEqual([
      [0, 50, ['accuracy']],
      [1, 50, ['accuracy']],
      [2, 50, ['accuracy']],
    ]);
    expect(f.evaluations[2]!.metrics.accuracy).toBeGreaterThan(0.6);
    expect(events.filter((e) => e.type === 'uploaded')).toHaveLength(3);
    expect(events.at(-1)).toEqual({ type: 'stopped', reason: 'finished' });
  });

  it('waits for the other selected clients, polling on 204', async () => {
    const f = await start({ perRound: 2 });
    const [a, b] = await Promise.all([join(f), join(f, { token: 'b.2' })]);
    expect([a.client, b.client, a.accepted, b.accepted]).toEqual([0, 1, 3, 3]);
    expect(f.uploads.map((u) => u.round).sort()).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('honours Retry-After on 204 (with up to 20% jitter)', async () => {
    const f = await start({
      rounds: 1,
      intercept: (route, _m, _c, hit) =>
        route === '/v1/task' && hit === 1 ? { status: 204, headers: { 'retry-after': '1' } } : undefined,
    });
    const events: JoinEvent[] = [];
    const t0 = performance.now();
    const summary = await join(f, {}, events);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(990);
    const waits = events.filter((e) => e.type === 'waiting').map((e) => (e as { seconds: number }).seconds);
    expect(waits[0]).toBeGreaterThanOrEqual(1);
    expect(waits[0]).toBeLessThanOrEqual(1.2);
    expect(summary.accepted).toBe(1);
  });

  it('stops on 410 Gone, before or after registering', async () => {
    const f = await start({ rounds: 0 });
    expect(await join(f)).toMatchObject({ client: 0, rounds: 0, stopped: 'finished' });
    const g = await startFakeCoordinator({
      dim: model.dim,
      rounds: 1,
      tokens: { 'a.1': 0 },
      intercept: () => ({ status: 410, body: { error: 'gone', message: 'finished' } }),
    });
    try {
      expect(await join(g)).toMatchObject({ client: undefined, rounds: 0, stopped: 'finished' });
    } finally {
      await g.close();
    }
  });

  it('401 rejects with a typed error naming the token, never showing it', async () => {
    const f = await start();
    const error = await join(f, { token: 'zz.secret-value' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect(isDpflError(error, 'ERR_DPFL_INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toMatch(/^token must be a client token the server accepts.*401 unauthorized/);
    expect((error as Error).message).not.toContain('secret-value');
  });

  it('a 409 duplicate is an event, not a crash', async () => {
    const f = await start({
      intercept: (route) =>
        route === '/v1/update' ? { status: 409, body: { error: 'duplicate', message: 'already reported' } } : undefined,
    });
    const events: JoinEvent[] = [];
    const summary = await join(f, { maxRounds: 1 }, events);
    expect(summary).toMatchObject({ rounds: 1, accepted: 0, refused: 1, stopped: 'maxRounds' });
    expect(events).toContainEqual({
      type: 'refused',
      round: 0,
      step: 'update',
      status: 409,
      error: 'duplicate',
      message: 'already reported',
    });
  });

  it('retries network errors and 5xx with backoff, then gives up with ERR_DPFL_NETWORK', async () => {
    const f = await start({
      rounds: 1,
      intercept: (route, _m, _c, hit) =>
        route === '/v1/task' && hit <= 2 ? { status: 503, body: { error: 'unavailable', message: '' } } : undefined,
    });
    let failures = 2;
    const flaky: typeof fetch = (input, init) =>
      failures-- > 0 ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init);
    const events: JoinEvent[] = [];
    const summary = await join(f, { fetch: flaky }, events);
    expect(summary.accepted).toBe(1);
    const retries = events.filter((e) => e.type === 'retry') as Array<{ step: string; cause: string; seconds: number }>;
    expect(retries.map((r) => [r.step, r.cause])).toEqual([
      ['register', 'fetch failed'],
      ['register', 'fetch failed'],
      ['task', '503 unavailable'],
      ['task', '503 unavailable'],
    ]);
    // Exponential with equal jitter: the n-th wait is in [½, 1]·min(cap, base·2^(n−1)).
    expect(retries[1]!.seconds).toBeGreaterThanOrEqual(0.005);
    expect(retries[1]!.seconds).toBeLessThanOrEqual(0.01);

    const down: typeof fetch = () => Promise.reject(new TypeError('connect ECONNREFUSED'));
    const error = await join(f, { fetch: down }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FederationError);
    expect(isDpflError(error, 'ERR_DPFL_NETWORK')).toBe(true);
    expect((error as Error).message).toMatch(
      /POST \/v1\/register failed 4 times in a row \(last: connect ECONNREFUSED\)/,
    );
  });

  it('fetches a corrupt model again, and refuses a download without its CRC header', async () => {
    const f = await start({
      rounds: 1,
      intercept: (route, _m, _c, hit) =>
        route === '/v1/model' && hit === 1
          ? { status: 200, headers: { 'x-dpfl-crc32': '1' }, body: new Uint8Array(4 * model.dim) }
          : undefined,
    });
    const events: JoinEvent[] = [];
    expect((await join(f, {}, events)).accepted).toBe(1);
    expect(events.find((e) => e.type === 'retry')).toMatchObject({
      step: 'model',
      cause: expect.stringMatching(/CRC-32/),
    });
    await f.close();
    fake = await start({
      intercept: (route) => (route === '/v1/model' ? { status: 200, body: new Uint8Array(4 * model.dim) } : undefined),
    });
    const error = await join(fake).catch((e: unknown) => e);
    expect(isDpflError(error, 'ERR_DPFL_PROTOCOL')).toBe(true);
    expect((error as Error).message).toMatch(/no x-dpfl-crc32 header.*Access-Control-Expose-Headers/);
  });

  it('stops on abort, while waiting or between rounds', async () => {
    const f = await start({ rounds: 100, retryAfter: '30', perRound: 2 });
    const controller = new AbortController();
    const t0 = performance.now();
    const summary = await join(f, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'waiting') controller.abort();
      },
    });
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(summary).toMatchObject({ rounds: 1, accepted: 1, stopped: 'aborted' });
    const before = new AbortController();
    before.abort();
    expect((await join(f, { signal: before.signal })).stopped).toBe('aborted');
  });

  it('refuses a secure-aggregation task, another protocol, a model of another size, a malformed task', async () => {
    const secagg = { clipNorm: 1, scale: 1024, neighbours: 4, threshold: 3 };
    let f = await start({
      intercept: (route) =>
        route === '/v1/task'
          ? { status: 200, body: { round: 0, training, evaluate: false, secureAggregation: secagg } }
          : undefined,
    });
    // A secure task from a server without the /v1/secagg stages: the round ends for the client at
    // its first stage (a refusal it survives), before any training.
    const stop = new AbortController();
    const seen: JoinEvent[] = [];
    const secure = await join(f, {
      signal: stop.signal,
      onEvent: (e) => {
        seen.push(e);
        if (e.type === 'refused') stop.abort();
      },
    });
    expect(secure).toMatchObject({ rounds: 0, stopped: 'aborted' });
    expect(seen.find((e) => e.type === 'refused')).toMatchObject({ round: 0, step: 'advertise', status: 404 });
    await f.close();
    let error: unknown;
    f = fake = await start({
      intercept: (route) =>
        route === '/v1/register' ? { status: 200, body: { protocol: 2, client: 0, dim: 3 } } : undefined,
    });
    error = await join(f).catch((e: unknown) => e);
    expect((error as Error).message).toBe('the server speaks protocol 2, this client version 1');
    await f.close();
    f = fake = await start({
      intercept: (route) =>
        route === '/v1/register' ? { status: 200, body: { protocol: 1, client: 0, dim: 3 } } : undefined,
    });
    error = await join(f).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `model.dim must be the dimension of the server's model (3), received ${model.dim}`,
    );
    await f.close();
    f = fake = await start({
      intercept: (route) =>
        route === '/v1/task' ? { status: 200, body: { round: 0, training: { ...training, lr: 'x' } } } : undefined,
    });
    error = await join(f).catch((e: unknown) => e);
    expect(isDpflError(error, 'ERR_DPFL_PROTOCOL')).toBe(true);
    expect((error as Error).message).toMatch(/^the server sent a malformed Task: task.training.lr must be/);
  });

  it('checks its options before any request', async () => {
    const f = await start();
    const bad: Array<[Partial<JoinOptions>, RegExp]> = [
      [{ url: 'ftp://x' }, /^url must be an absolute http\(s\) URL/],
      [{ token: 'has space' }, /^token must be a non-empty token of printable ASCII/],
      [{ examples: [0, 500] }, /^examples\[1\] must be an integer in \[0, 120\)/],
      [{ maxRounds: 0 }, /^maxRounds must be/],
      [{ seed: 0.5 }, /^seed must be a safe integer/],
    ];
    for (const [o, message] of bad) await expect(join(f, o)).rejects.toThrow(message);
    expect(f.requests).toEqual([]);
  });
});
