// FAULT TESTS WITH REAL PROCESSES (~30 s): `dpfl serve` and `dpfl join` processes (dist/cli/main.js;
// `npm run build:ts` first) on synthetic data, and what happens when things go wrong:
// - kill -9 of client processes selected in an open round: the round closes at its deadline with
//   them counted as dropped, the others' updates applied (the model is the replay without them);
// - kill -9 of the server mid-round, restarted on the same database and port: the clients ride it
//   out (retries with backoff), every selected client's update is counted exactly once, and the
//   final model is the one an uninterrupted server computes from the same arrivals;
// - a raw HTTP client against the server process: malformed, wrongly sized, oversized, NaN,
//   unauthenticated and replayed uploads each get their documented answer (docs/security.md) and
//   the server keeps serving.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join as pathJoin } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { federationData } from '../../../src/cli/commands/federation-data.js';
import { FederatedServer } from '../../../src/fl/server.js';
import { frameOf, updateOf } from './helpers.js';
import { argv, freePort, join, killAll, MAIN, replay, serve, storedOrder } from './processes.js';

const dir = mkdtempSync(pathJoin(tmpdir(), 'dpfl-faults-'));
afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

const SEED = 5;
const FLAGS = { dataset: 'synthetic', examples: '1000', partition: 'label', clients: '8', seed: String(SEED) };
const LOCAL = { epochs: 1, batchSize: 16, lr: 0.1, mu: 0 };
const RULES = { selection: { method: 'uniform' as const, perRound: 4 }, seed: SEED, optimizer: 'fedavg' as const };
const fed = federationData(FLAGS);
const POPULATION = fed.partition.clients.length;

/** Writes a config for FLAGS' federation; returns its path and the database's. */
function writeConfig(name: string, o: { rounds: number; roundSeconds: number; port?: number }) {
  const file = pathJoin(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      listen: { host: '127.0.0.1', port: o.port ?? 0 },
      database: `${name}.db`,
      model: {
        kind: 'linear',
        inputDim: fed.data.featureDim,
        input: 'dense',
        classes: fed.data.classes,
        initSeed: SEED,
      },
      clients: { population: POPULATION, activity: fed.partition.sizes },
      ...RULES,
      rounds: o.rounds,
      roundSeconds: o.roundSeconds,
      minClients: POPULATION,
      training: LOCAL,
    }),
  );
  const tokens = JSON.parse(
    execFileSync('node', [MAIN, 'serve', 'token', '--config', file, '--clients', `0-${POPULATION - 1}`, '--json'], {
      encoding: 'utf8',
    }),
  ) as { client: number; token: string }[];
  return { file, db: pathJoin(dir, `${name}.db`), tokens: tokens.map((t) => t.token) };
}

/** The clients each round selects (the selection is seeded and does not depend on the reports). */
async function selections(rounds: number): Promise<number[][]> {
  const s = new FederatedServer({ ...RULES, params: new Float32Array(fed.model.dim), activity: fed.partition.sizes });
  const out: number[][] = [];
  for (let t = 0; t < rounds; t++) {
    out.push([...s.beginRound(0).clients]);
    await s.endRound();
  }
  return out;
}

async function finalModel(url: string, token: string, round: number): Promise<Float32Array> {
  const r = await fetch(`${url}/v1/model?round=${round}`, { headers: { authorization: `Bearer ${token}` } });
  expect(r.status).toBe(200);
  return new Float32Array(await r.arrayBuffer());
}

/**
 * One request written byte for byte on a socket: the status and body of the answer, and whether the
 * server closed the connection (it does after refusing a body it did not read).
 */
function raw(port: number, head: string, body: Uint8Array = new Uint8Array(0), keepAlive = false) {
  return new Promise<{ status: number; text: string; closed: boolean }>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let closed = false;
    const done = () => {
      clearTimeout(timer);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, text: data.slice(data.indexOf('\r\n\r\n') + 4), closed });
      socket.destroy();
    };
    const timer = setTimeout(done, 3000);
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      done();
    });
    // Connection: close makes the server end every answer with a close; keepAlive leaves that to it.
    const request = keepAlive || !head.endsWith('\n\n') ? head : `${head.slice(0, -1)}Connection: close\n\n`;
    socket.write(request.replaceAll('\n', '\r\n'));
    socket.write(body);
  });
}

const clientFlags = [...argv(FLAGS), '--train-seed', String(SEED)];

describe.skipIf(!existsSync(MAIN))('faults with real processes', () => {
  it('kill -9 of selected clients mid-round: dropped at the deadline, the rest applied', async () => {
    const ROUNDS = 2;
    const DEADLINE = 5;
    const { file, db, tokens } = writeConfig('clients', { rounds: ROUNDS, roundSeconds: DEADLINE });
    const victims = (await selections(ROUNDS))[1]!.slice(0, 2);
    const server = serve(file);
    const url = (await server.next((e) => e.type === 'listening')).url as string;
    const clients = tokens.map((t) => join(url, t, clientFlags));
    const opened = await server.next((e) => e.type === 'roundOpened' && e.round === 1);
    for (const v of victims) clients[v]!.child.kill('SIGKILL');
    const closed = await server.next((e) => e.type === 'roundClosed' && e.round === 1);
    // Closed by its deadline (the server's clock: opened + roundSeconds), not by the reports.
    expect(Date.now()).toBeGreaterThanOrEqual((opened.deadline as number) - 50);
    expect(closed.report).toMatchObject({ selected: 4, accepted: 2, dropped: 2, applied: true });
    await server.next((e) => e.type === 'finished');
    const outcomes = await Promise.all(clients.map((c) => c.done)); // the server lingers: they learn it ended
    const params = await finalModel(url, tokens[0]!, ROUNDS);
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    for (const [k, o] of outcomes.entries()) {
      if (victims.includes(k)) expect(o.signal).toBe('SIGKILL');
      else expect(o.summary, o.stderr).toMatchObject({ client: k, refused: 0, stopped: 'finished' });
    }
    const order = storedOrder(db, ROUNDS);
    expect(order.get(0)).toHaveLength(4);
    expect(order.get(1)!.sort()).toEqual((await selections(ROUNDS))[1]!.filter((k) => !victims.includes(k)).sort());
    // The server applied exactly the survivors' updates: the same arrivals redone in process.
    expect(params).toEqual((await replay(fed, RULES, LOCAL, SEED, ROUNDS, order)).params);
  }, 60_000);

  it('kill -9 of the server mid-round and a restart: no update lost or counted twice', async () => {
    const ROUNDS = 3;
    const port = await freePort();
    // 40 s: the resumed round keeps its deadline, and on a loaded machine the clients' backoff after
    // the kill plus the restart must fit in it (a round past it closes at once with its dropouts).
    const { file, db, tokens } = writeConfig('server', { rounds: ROUNDS, roundSeconds: 40, port });
    const a = serve(file);
    const url = (await a.next((e) => e.type === 'listening')).url as string;
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const clients = tokens.map((t) => join(url, t, clientFlags));
    await a.next((e) => e.type === 'upload' && e.round === 1); // round 1 is open, one update in
    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');
    const before = a.events.filter((e) => e.type === 'upload' && e.round === 1).length;
    // Down for 3 s: longer than an idle client's poll (pollSeconds 1, +20% jitter), so every client
    // meets the dead server and retries (a restart within its poll would go unnoticed).
    await new Promise((r) => setTimeout(r, 3000));

    const b = serve(file);
    expect((await b.next((e) => e.type === 'listening')).url).toBe(url);
    const resumed = await b.next((e) => e.type === 'roundOpened');
    expect(resumed).toMatchObject({ round: 1, resumed: true });
    // Every upload decided before the kill is replayed (one more than printed if the kill fell between).
    expect(resumed.replayed as number).toBeGreaterThanOrEqual(before);
    await b.next((e) => e.type === 'finished');
    const outcomes = await Promise.all(clients.map((c) => c.done));
    const params = await finalModel(url, tokens[0]!, ROUNDS);
    b.child.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);
    let accepted = 0;
    let retried = 0;
    for (const [k, o] of outcomes.entries()) {
      expect(o.summary, o.stderr).toMatchObject({ client: k, stopped: 'finished' });
      // Only a lost answer's retry may be refused: as a duplicate (409: its first copy counted), or as
      // late (410: the restarted server replayed that copy and closed the round at once).
      expect(o.stderr).not.toMatch(/refused \((?!409 duplicate|410 late)/);
      accepted += (o.summary!.accepted as number) + (o.summary!.refused as number);
      if (/retry \d/.test(o.stderr)) retried++;
    }
    expect(retried).toBeGreaterThan(0); // the clients did meet the dead server, and retried
    // Client side: every upload's outcome is known (a lost answer's retry is refused 409 or 410);
    // one is allowed to be missing. The server side below is exact: every round has all 4
    // updates, each once, and the model is the uninterrupted one.
    expect(accepted).toBeGreaterThanOrEqual(ROUNDS * 4 - 1);
    expect(accepted).toBeLessThanOrEqual(ROUNDS * 4);
    const closed = [...a.events, ...b.events].filter((e) => e.type === 'roundClosed');
    expect(closed.map((e) => e.round)).toEqual([0, 1, 2]);
    for (const e of closed) expect(e.report).toMatchObject({ selected: 4, accepted: 4, dropped: 0, applied: true });
    const order = storedOrder(db, ROUNDS);
    const selected = await selections(ROUNDS);
    for (let t = 0; t < ROUNDS; t++) expect([...order.get(t)!].sort()).toEqual([...selected[t]!].sort());
    // The uninterrupted run with the same arrivals: the same model, bit for bit.
    expect(params).toEqual((await replay(fed, RULES, LOCAL, SEED, ROUNDS, order)).params);
  }, 90_000);

  it('a raw HTTP client: every malformed, oversized, NaN, unauthenticated or replayed upload gets its answer', async () => {
    const { file, tokens } = writeConfig('raw', { rounds: 1, roundSeconds: 60 });
    const server = serve(file);
    const url = (await server.next((e) => e.type === 'listening')).url as string;
    const port = Number(new URL(url).port);
    const dim = fed.model.dim;
    const size = 32 + 4 * dim; // the frame: a 32-byte header and dim float32
    const sizes = fed.partition.sizes;
    const auth = (k: number) => `Authorization: Bearer ${tokens[k]}\n`;
    const post = (k: number | undefined, path: string, body: Uint8Array, extra = '') =>
      raw(
        port,
        `POST ${path} HTTP/1.1\nHost: x\n${k === undefined ? '' : auth(k)}Content-Length: ${body.length}\n${extra}\n`,
        body,
      );
    const json = (text: string) => JSON.parse(text) as { error: string; reason?: string };

    // Authentication first: nothing without a valid token reaches the round.
    let r = await raw(port, 'GET /v1/task HTTP/1.1\nHost: x\n\n');
    expect([r.status, json(r.text).error]).toEqual([401, 'unauthorized']);
    const forged = `3.${'A'.repeat(43)}`;
    r = await raw(port, `GET /v1/task HTTP/1.1\nHost: x\nAuthorization: Bearer ${forged}\n\n`);
    expect(r.status).toBe(401);
    r = await post(undefined, '/v1/update?round=0', frameOf(0, updateOf(dim, 0, 0), 1));
    expect(r.status).toBe(401);
    r = await post(0, '/v1/register', new TextEncoder().encode('{"samples":'));
    expect([r.status, json(r.text).error]).toEqual([400, 'badRequest']);
    for (let k = 0; k < POPULATION; k++) {
      r = await post(k, '/v1/register', new TextEncoder().encode(JSON.stringify({ samples: sizes[k] })));
      expect(r.status).toBe(200);
    }
    await server.next((e) => e.type === 'roundOpened' && e.round === 0);
    const [s0, s1, s2, s3] = (await selections(1))[0]! as [number, number, number, number];
    const outsider = [...Array(POPULATION).keys()].find((k) => ![s0, s1, s2, s3].includes(k))!;
    const frame = (k: number, update = updateOf(dim, 0, k), round = 0) => frameOf(round, update, sizes[k]!);

    // Refusals that do not count as the client's report (it may upload again).
    r = await post(outsider, '/v1/update?round=0', frame(outsider));
    expect([r.status, json(r.text).error]).toEqual([403, 'notSelected']);
    r = await post(s0, '/v1/update?round=0', frame(s0).subarray(0, 10)); // a truncated frame
    expect([r.status, json(r.text).reason]).toEqual([400, 'length']);
    // Oversized: refused from Content-Length alone; the server closes instead of reading 10 MB.
    r = await raw(
      port,
      `POST /v1/update?round=0 HTTP/1.1\nHost: x\n${auth(s0)}Content-Length: 10000000\n\n`,
      frame(s0),
      true,
    );
    expect([r.status, json(r.text).error, r.closed]).toEqual([413, 'tooLarge', true]);
    // Oversized while streaming (chunked: no Content-Length to judge by).
    const twice = new Uint8Array(2 * size);
    const chunk = Buffer.concat([Buffer.from(`${twice.length.toString(16)}\r\n`), twice, Buffer.from('\r\n0\r\n\r\n')]);
    r = await raw(port, `POST /v1/update?round=0 HTTP/1.1\nHost: x\n${auth(s0)}Transfer-Encoding: chunked\n\n`, chunk);
    expect([r.status, json(r.text).error]).toEqual([413, 'tooLarge']);
    const corrupt = frame(s0);
    corrupt[size - 1]! ^= 0x40; // one payload bit: the CRC-32 no longer matches
    r = await post(s0, '/v1/update?round=0', corrupt);
    expect([r.status, json(r.text).reason]).toEqual([400, 'checksum']);
    const magic = frame(s0);
    magic[0] = 0;
    r = await post(s0, '/v1/update?round=0', magic);
    expect([r.status, json(r.text).reason]).toEqual([400, 'magic']);
    r = await post(s0, '/v1/update?round=0', frame(s0, undefined, 3)); // a frame of round 3 sent as round 0
    expect([r.status, json(r.text).reason]).toEqual([400, 'round']);
    r = await post(s0, '/v1/update?round=1', frame(s0, undefined, 1)); // a round not open yet
    expect([r.status, json(r.text).error]).toEqual([409, 'conflict']);
    r = await raw(port, 'NOT HTTP AT ALL\n\n'); // garbage: the connection is dropped, nothing else
    expect([r.status, r.closed]).toEqual([0, true]);

    // NaN in a well-formed frame: refused by the round rules (422), and it is the client's report.
    const nan = updateOf(dim, 0, s1);
    nan[7] = Number.NaN;
    r = await post(s1, '/v1/update?round=0', frame(s1, nan));
    expect([r.status, json(r.text).error, json(r.text).reason]).toEqual([422, 'rejected', 'nonFinite']);
    r = await post(s1, '/v1/update?round=0', frame(s1));
    expect([r.status, json(r.text).error]).toEqual([409, 'duplicate']);
    // A valid upload, then the same bytes replayed: counted once.
    r = await post(s0, '/v1/update?round=0', frame(s0));
    expect(r.status).toBe(200);
    r = await post(s0, '/v1/update?round=0', frame(s0));
    expect([r.status, json(r.text).error]).toEqual([409, 'duplicate']);
    for (const k of [s2, s3]) expect((await post(k, '/v1/update?round=0', frame(k))).status).toBe(200);

    const closed = await server.next((e) => e.type === 'roundClosed' && e.round === 0);
    expect(closed.report).toMatchObject({ selected: 4, accepted: 3, dropped: 0, applied: true });
    expect((closed.report as { rejected: Record<string, number> }).rejected).toMatchObject({
      nonFinite: 1,
      duplicate: 0,
      wrongLength: 0,
    });
    await server.next((e) => e.type === 'finished');
    r = await post(s2, '/v1/update?round=0', frame(s2)); // after the federation ended
    expect([r.status, json(r.text).reason]).toEqual([410, 'late']);
    // Still serving, and the model holds exactly the three accepted updates.
    r = await raw(port, `GET /v1/status HTTP/1.1\nHost: x\n${auth(s0)}\n`);
    expect(r.status).toBe(200);
    expect(server.child.exitCode).toBe(null);
    const params = await finalModel(url, tokens[s0]!, 1);
    const ref = new FederatedServer({ ...RULES, params: fed.model.init(), activity: sizes });
    ref.beginRound(0);
    ref.submit({ client: s1, round: 0, update: nan, samples: sizes[s1]! }, 0);
    for (const k of [s0, s2, s3])
      ref.submit({ client: k, round: 0, update: updateOf(dim, 0, k), samples: sizes[k]! }, 0);
    await ref.endRound();
    expect(params).toEqual(ref.params);
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  }, 60_000);
});
