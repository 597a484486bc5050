// createFlServer end to end over loopback HTTP with fetch: rounds, the network layer's refusals.
import { crc32 as zlibCrc32 } from 'node:zlib';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { BuiltinModel } from '../../../src/fl/builtin-model.js';
import type { ErrorBody, StatusResponse, Task } from '../../../src/fl/client/protocol.js';
import { crc32 } from '../../../src/fl/client/wire.js';
import type { FlEvent } from '../../../src/fl/net/coordinator.js';
import { createFlServer, type FlServer } from '../../../src/fl/net/server.js';
import { FederatedServer } from '../../../src/fl/server.js';
import { randomFloats } from '../../reference/kernels.js';
import { baseConfig, client, frameOf, POPULATION, SAMPLES, start, until, updateOf } from './helpers.js';

const servers: FlServer[] = [];
const errorOf = async (r: Response) => ((await r.json()) as ErrorBody).error;
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

async function started(o: Parameters<typeof baseConfig>[0] = {}, events: FlEvent[] = []) {
  const s = await start(baseConfig(o), events);
  servers.push(s.server);
  return s;
}

async function registerAll(url: string, tokens: string[]) {
  for (let k = 0; k < tokens.length; k++)
    expect((await client(url, tokens[k]!).register(SAMPLES[k]!)).status).toBe(200);
}

/** The selected clients of the open round, found through /v1/task. */
async function selected(url: string, tokens: string[]): Promise<{ round: number; clients: number[] }> {
  const clients: number[] = [];
  let round = -1;
  for (let k = 0; k < tokens.length; k++) {
    const r = await client(url, tokens[k]!).get('/v1/task');
    if (r.status === 200) {
      clients.push(k);
      round = ((await r.json()) as Task).round;
    } else {
      expect(r.status).toBe(204);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  }
  return { round, clients };
}

describe('createFlServer: rounds over HTTP', () => {
  it('runs 3 rounds bit-identical to an in-process FederatedServer, with federated evaluation', async () => {
    const events: FlEvent[] = [];
    const { server, url, tokens } = await started({ evaluateEvery: 1 }, events);
    const spec = { kind: 'linear' as const, inputDim: 4, input: 'dense' as const, classes: 3 };
    const dim = new BuiltinModel(spec).dim;
    const ref = new FederatedServer({
      params: new BuiltinModel(spec, 0).init(),
      activity: SAMPLES,
      selection: { method: 'uniform', perRound: 3 },
      seed: 5,
      optimizer: 'fedadam',
      deadline: 30,
    });
    expect((await client(url, tokens[0]!).get('/v1/task')).status).toBe(403); // not registered yet
    await registerAll(url, tokens);
    for (let r = 0; r < 3; r++) {
      await until(() => server.coordinator.state === 'open' && server.coordinator.status().round === r);
      const plan = ref.beginRound(0);
      const sel = await selected(url, tokens);
      expect(sel).toEqual({ round: r, clients: plan.clients });
      for (const k of sel.clients) {
        const c = client(url, tokens[k]!);
        const m = await c.get(`/v1/model?round=${r}`);
        const bytes = new Uint8Array(await m.arrayBuffer());
        expect(Number(m.headers.get('x-dpfl-crc32'))).toBe(crc32(bytes));
        expect(new Float32Array(bytes.buffer)).toEqual(plan.params);
        const u = updateOf(dim, r, k);
        ref.submit({ client: k, round: r, update: u, samples: SAMPLES[k]! }, 0);
        const ev = await c.post('/v1/evaluate', {
          round: r,
          samples: SAMPLES[k]!,
          metrics: { accuracy: k / 10, loss: k },
        });
        expect(ev.status).toBe(204);
        const up = await c.upload(r, frameOf(r, u, SAMPLES[k]!));
        expect(up.status).toBe(200);
        expect(await up.json()).toEqual({ status: 'accepted', round: r });
      }
      const refReport = await ref.endRound();
      await until(() => events.some((e) => e.type === 'roundClosed' && e.round === r));
      const closed = events.find((e) => e.type === 'roundClosed' && e.round === r) as Extract<
        FlEvent,
        { type: 'roundClosed' }
      >;
      expect(closed.report).toEqual(refReport);
      // Sample-weighted mean of each metric over this round's evaluators.
      const n = sel.clients.reduce((a, k) => a + SAMPLES[k]!, 0);
      const acc = sel.clients.reduce((a, k) => a + (k / 10) * SAMPLES[k]!, 0) / n;
      expect(closed.evaluation!.samples).toBe(n);
      expect(closed.evaluation!.metrics.accuracy).toBeCloseTo(acc, 12);
    }
    await until(() => server.coordinator.state === 'finished');
    expect(server.coordinator.server.params).toEqual(ref.params); // bit-identical
    const last = client(url, tokens[0]!);
    const finalModel = new Float32Array(await (await last.get('/v1/model?round=3')).arrayBuffer());
    expect(finalModel).toEqual(ref.params);
    const gone = await last.get('/v1/task');
    expect(gone.status).toBe(410);
    expect(await errorOf(gone)).toBe('finished');
    const status = (await (await last.get('/v1/status')).json()) as StatusResponse;
    expect(status).toMatchObject({ round: 3, open: false, roundsDone: 3, roundsTotal: 3, registered: POPULATION });
    expect(status.history).toHaveLength(3);
    expect(status.evaluation!.round).toBe(2);
    expect(events.find((e) => e.type === 'finished')).toEqual({ type: 'finished', rounds: 3, reason: 'rounds' });
  });

  it('secure aggregation plugs in under /v1/secagg/* after authentication, and adds its Task parameters', async () => {
    const params = { clipNorm: 1, scale: 2 ** 16, neighbours: 2, threshold: 2 };
    const server = createFlServer(baseConfig({ minClients: 1 }), {
      secureAggregation: {
        handle: async (client, subpath, _req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ client, subpath }));
        },
        taskParameters: () => params,
      },
    });
    servers.push(server);
    const tokens = server.issueTokens([0, 1, 2, 3]).map((t) => t.token);
    const url = await server.listen();
    const r = await client(url, tokens[2]!).get('/v1/secagg/keys?round=0');
    expect(await r.json()).toEqual({ client: 2, subpath: '/keys' });
    expect((await fetch(`${url}/v1/secagg/keys`)).status).toBe(401);
    for (let k = 0; k < 4; k++) await client(url, tokens[k]!).register(SAMPLES[k]!);
    await until(() => server.coordinator.state === 'open');
    const sel = await selected(url, tokens);
    const task = (await (await client(url, tokens[sel.clients[0]!]!).get('/v1/task')).json()) as Task;
    expect(task.secureAggregation).toEqual(params);
  });

  it('zlib.crc32 agrees with wire.ts crc32', () => {
    for (const n of [0, 1, 19, 111, 989, 100_003]) {
      const bytes = new Uint8Array(randomFloats(Math.ceil(n / 4) + 1, n).buffer).subarray(0, n);
      expect(zlibCrc32(bytes) >>> 0).toBe(crc32(bytes));
    }
  });
});

describe('createFlServer: who may talk and what is refused', () => {
  async function openRound(o: Parameters<typeof baseConfig>[0] = {}, events: FlEvent[] = []) {
    const s = await started(o, events);
    await registerAll(s.url, s.tokens);
    await until(() => s.server.coordinator.state === 'open');
    const sel = await selected(s.url, s.tokens);
    const outsider = [...Array(POPULATION).keys()].find((k) => !sel.clients.includes(k))!;
    return { ...s, sel, outsider, dim: s.server.coordinator.dim };
  }

  it('401 for a missing, malformed, unknown or revoked token, and the round is untouched', async () => {
    const { server, url, tokens, sel, dim } = await openRound();
    const k = sel.clients[0]!;
    const good = frameOf(0, updateOf(dim, 0, k), SAMPLES[k]!);
    const forged = `${k}.${'A'.repeat(43)}`;
    for (const auth of [
      undefined,
      'Bearer',
      `Basic ${tokens[k]}`,
      `Bearer ${k}.short`,
      `Bearer ${forged}`,
      `Bearer 99.${'A'.repeat(43)}`,
    ]) {
      const r = await fetch(`${url}/v1/update?round=0`, {
        method: 'POST',
        headers: auth ? { authorization: auth } : {},
        body: good,
      });
      expect(r.status).toBe(401);
      expect(await errorOf(r)).toBe('unauthorized');
    }
    const revokedClient = sel.clients[1]!;
    server.revoke(revokedClient);
    const rv = await client(url, tokens[revokedClient]!).upload(0, frameOf(0, updateOf(dim, 0, revokedClient), 5));
    expect(rv.status).toBe(401);
    // Nothing reached the round: the real client's upload is its first.
    expect((await client(url, tokens[k]!).upload(0, good)).status).toBe(200);
    expect(server.coordinator.store.uploads(0).map((u) => u.client)).toEqual([k]);
  });

  it('403 unselected, 409 duplicate, 410 late, 400 bad frames, 422 non-finite update', async () => {
    const events: FlEvent[] = [];
    const { url, tokens, sel, outsider, dim } = await openRound({}, events);
    const [a, b, c] = sel.clients as [number, number, number];
    const up = (k: number, body: Uint8Array, round = 0) => client(url, tokens[k]!).upload(round, body);
    const r403 = await up(outsider, frameOf(0, updateOf(dim, 0, outsider), 5));
    expect([r403.status, await errorOf(r403)]).toEqual([403, 'notSelected']);
    // Bad frames are refused without being the client's one report (a corrupted transfer may be retried).
    const good = frameOf(0, updateOf(dim, 0, a), SAMPLES[a]!);
    const short = good.slice(0, good.length - 4);
    const magic = good.slice();
    magic[0] = 0x58;
    const corrupt = good.slice();
    corrupt[40]! ^= 0xff;
    const wrongRound = frameOf(1, updateOf(dim, 0, a), SAMPLES[a]!);
    for (const [body, reason] of [
      [short, 'length'],
      [magic, 'magic'],
      [corrupt, 'checksum'],
      [wrongRound, 'round'],
    ] as const) {
      const r = await up(a, body);
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ error: 'badFrame', reason });
    }
    expect((await up(a, good)).status).toBe(200);
    const dup = await up(a, good);
    expect([dup.status, await errorOf(dup)]).toEqual([409, 'duplicate']);
    const nan = updateOf(dim, 0, b);
    nan[3] = Number.NaN;
    const r422 = await up(b, frameOf(0, nan, SAMPLES[b]!));
    expect(r422.status).toBe(422);
    expect(await r422.json()).toMatchObject({ error: 'rejected', reason: 'nonFinite' });
    expect((await up(b, good)).status).toBe(409); // the rejected report was b's one report
    const future = await up(c, frameOf(5, updateOf(dim, 0, c), 1), 5);
    expect(future.status).toBe(409);
    expect((await up(c, frameOf(0, updateOf(dim, 0, c), SAMPLES[c]!))).status).toBe(200);
    await until(() => events.some((e) => e.type === 'roundClosed'));
    const closed = events.find((e) => e.type === 'roundClosed') as Extract<FlEvent, { type: 'roundClosed' }>;
    expect(closed.report.accepted).toBe(2);
    expect(closed.report.rejected!.nonFinite).toBe(1);
    const late = await up(c, frameOf(0, updateOf(dim, 0, c), SAMPLES[c]!));
    expect(late.status).toBe(410);
    expect(await late.json()).toMatchObject({ error: 'late', reason: 'late' });
  });

  it('two concurrent uploads of one client: one is decided, the other is a duplicate', async () => {
    const { server, url, tokens, sel, dim } = await openRound();
    const k = sel.clients[0]!;
    const body = frameOf(0, updateOf(dim, 0, k), SAMPLES[k]!);
    const rs = await Promise.all([1, 2, 3].map(() => client(url, tokens[k]!).upload(0, body)));
    expect(rs.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    expect(server.coordinator.store.uploads(0)).toHaveLength(1);
  });

  it('413 as soon as Content-Length or the streamed bytes exceed the frame, without reading the rest', async () => {
    const { url, tokens, sel } = await openRound();
    const k = sel.clients[0]!;
    const { port } = new URL(url);
    const raw = (headers: Record<string, string>, write: (req: ReturnType<typeof request>) => void) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/v1/update?round=0',
            headers: { authorization: `Bearer ${tokens[k]}`, ...headers },
          },
          (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          },
        );
        req.on('error', reject);
        write(req);
      });
    // Declares 1 GB and sends nothing: the answer comes before any body byte.
    const declared = await raw({ 'content-length': String(2 ** 30) }, (req) => req.flushHeaders());
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error).toBe('tooLarge');
    // Chunked, no length: refused once the streamed bytes pass 32 + 4·dim, the stream left open.
    const streamed = await raw({ 'transfer-encoding': 'chunked' }, (req) => {
      req.write(new Uint8Array(64 * 1024));
    });
    expect(streamed.status).toBe(413);
    // The client may still upload properly afterwards.
    const dim = 15;
    expect((await client(url, tokens[k]!).upload(0, frameOf(0, updateOf(dim, 0, k), 3))).status).toBe(200);
  });

  it('400 for JSON garbage, 429 past the rate limit, 404 for secure aggregation when it is off', async () => {
    const { url, tokens } = await started({ limits: { requestsPerMinute: 8 } });
    const c = client(url, tokens[0]!);
    for (const body of ['{', '[1,2]', 'null', '"x"', '{"samples": -1}', '{"samples": 1e400}', '\u0000\u00ff']) {
      const r = await c.post('/v1/register', body);
      expect(r.status).toBe(400);
      expect(await errorOf(r)).toBe('badRequest');
    }
    expect((await c.get('/v1/status')).status).toBe(200); // the 8th request of the minute
    const r = await c.get('/v1/status');
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await errorOf(r)).toBe('rateLimited');
    // Another token has its own bucket.
    const other = await client(url, tokens[1]!).get('/v1/secagg/advertise');
    expect([other.status, await errorOf(other)]).toEqual([404, 'notFound']);
  });

  it('a JSON body over maxJsonBytes is 413; evaluation reports are validated', async () => {
    const { url, tokens, sel, outsider } = await openRound({ limits: { maxJsonBytes: 256 }, evaluateEvery: 1 });
    const k = sel.clients[0]!;
    const c = client(url, tokens[k]!);
    const big = await c.post('/v1/register', { samples: 1, agent: 'x'.repeat(300) });
    expect(big.status).toBe(413);
    for (const bad of [
      { round: 0, samples: SAMPLES[k]! + 1, metrics: { accuracy: 0.5 } }, // more than registered
      { round: 0, samples: 1, metrics: { accuracy: 'high' } },
      { round: 0, samples: 1, metrics: {} },
      { round: 0, samples: 0, metrics: { accuracy: 0.5 } },
      { round: 0, samples: 1, metrics: { 'bad name': 1 } },
    ]) {
      expect((await c.post('/v1/evaluate', bad)).status).toBe(400);
    }
    const notAsked = await client(url, tokens[outsider]!).post('/v1/evaluate', {
      round: 0,
      samples: 1,
      metrics: { a: 1 },
    });
    expect(notAsked.status).toBe(403);
    expect((await c.post('/v1/evaluate', { round: 0, samples: 1, metrics: { a: 1 } })).status).toBe(204);
    expect((await c.post('/v1/evaluate', { round: 0, samples: 1, metrics: { a: 1 } })).status).toBe(409);
    expect((await c.post('/v1/evaluate', { round: 7, samples: 1, metrics: { a: 1 } })).status).toBe(404);
  });

  it('survives garbage: random bytes as frames and bodies, odd methods and paths', async () => {
    const { server, url, tokens, sel, dim } = await openRound();
    const k = sel.clients[0]!;
    const c = client(url, tokens[k]!);
    for (let i = 0; i < 20; i++) {
      const junk = new Uint8Array(randomFloats(8 + dim, 77 + i).buffer);
      const r = await c.upload(0, junk.subarray(0, 32 + 4 * dim));
      expect(r.status).toBe(400);
    }
    for (const path of ['/v1/model?round=abc', '/v1/model', '/v1/nothing', '/%ff', '/v1/update?round=-1']) {
      expect([400, 404, 405]).toContain((await c.get(path)).status);
    }
    expect(
      (await fetch(`${url}/v1/task`, { method: 'DELETE', headers: { authorization: `Bearer ${tokens[k]}` } })).status,
    ).toBe(405);
    // Still serving, and the client's real upload is accepted.
    expect((await c.upload(0, frameOf(0, updateOf(dim, 0, k), 1))).status).toBe(200);
    expect(server.coordinator.state).toBe('open');
  });
});
