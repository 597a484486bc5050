// Secure aggregation on the wire (config.secureAggregation, secagg-routes.ts): SecAgg+ rounds over
// real HTTP on loopback give the model of a plain round on the survivors' clipped updates (to
// quantisation error), with clients dropping at every stage; the database never holds an update in
// the clear; a restart mid-round resumes the SecAgg round; DP-FedAvg accounts each round once; a
// client refuses an unmask request that would let the server unmask a neighbour; joinFederation
// runs the whole flow.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticDense } from '../../../src/data/synthetic.js';
import { joinFederation, type JoinEvent } from '../../../src/fl/client/index.js';
import type { Task } from '../../../src/fl/client/protocol.js';
import { SecAggClient } from '../../../src/fl/client/secagg/client.js';
import { clipToNorm } from '../../../src/fl/client/secagg/encoding.js';
import { encodeFrame } from '../../../src/fl/client/wire.js';
import { type FlServerConfig, resolveConfig } from '../../../src/fl/net/config.js';
import type { FlEvent } from '../../../src/fl/net/coordinator.js';
import { createFlServer } from '../../../src/fl/net/server.js';
import { FederatedServer, type ServerOptions } from '../../../src/fl/server.js';
import { SoftmaxRegression } from '../softmax-model.js';
import { until, updateOf } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dpfl-secagg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const D = 1000;
const M = 12;
const K = 10;
const CLIP = 0.5;
type Drop = 'advertise' | 'mask' | 'unmask';

function config(o: Partial<FlServerConfig> = {}): FlServerConfig {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    database: ':memory:',
    model: { dim: D, init: 'zeros' },
    clients: { population: M, activity: new Array(M).fill(10) },
    selection: { method: 'uniform', perRound: K, weighting: 'uniform' },
    seed: 5,
    rounds: 1,
    roundSeconds: 30,
    minClients: M,
    training: { epochs: 1, batchSize: 8, lr: 0.1, mu: 0 },
    optimizer: 'fedavg',
    normBound: CLIP,
    limits: { requestsPerMinute: 1e6 },
    // Stages end early once everyone answered: only a dropout makes a stage last its 2 s.
    secureAggregation: { stageSeconds: { advertise: 2, share: 2, mask: 2, unmask: 2 }, pollSeconds: 0.02 },
    ...o,
  };
}

function http(url: () => string, token: string) {
  const auth = { authorization: `Bearer ${token}` };
  return {
    get: (path: string) => fetch(`${url()}${path}`, { headers: auth }),
    post: (path: string, body: unknown) =>
      fetch(`${url()}${path}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    bytes: (path: string, body: Uint8Array) =>
      fetch(`${url()}${path}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        body,
      }),
  };
}

/** GET a stage's message, polling through 204. */
async function poll(h: ReturnType<typeof http>, path: string): Promise<Response> {
  for (;;) {
    const res = await h.get(path);
    if (res.status !== 204) return res;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A client driven by hand over HTTP (SecAggClient + fetch), stopping at `drop`; pauses between stages when asked. */
async function secureClient(
  url: () => string,
  token: string,
  k: number,
  round: number,
  update: Float32Array,
  drop?: Drop,
  pause?: { beforeUpload?: () => Promise<void>; afterMask?: () => Promise<void> },
): Promise<string> {
  const h = http(url, token);
  let task: Task | undefined;
  while (!task) {
    const res = await h.get('/v1/task');
    if (res.status === 200) task = (await res.json()) as Task;
    else await new Promise((r) => setTimeout(r, 20));
  }
  expect(task.round).toBe(round);
  const p = task.secureAggregation!;
  expect(p.clipNorm).toBe(CLIP);
  if (drop === 'advertise') return 'gone';
  const sa = new SecAggClient({
    round,
    client: k,
    dim: D,
    clipNorm: p.clipNorm,
    scale: p.scale,
    threshold: p.threshold,
  });
  expect((await h.post('/v1/secagg/advertise', await sa.advertise())).status).toBe(204);
  const roster = await poll(h, `/v1/secagg/roster?round=${round}`);
  expect(roster.status).toBe(200);
  expect((await h.post('/v1/secagg/shares', await sa.shareKeys((await roster.json()) as never))).status).toBe(204);
  if (drop === 'mask') return 'gone';
  const inbox = await poll(h, `/v1/secagg/inbox?round=${round}`);
  expect(inbox.status).toBe(200);
  await sa.receiveShares((await inbox.json()) as never);
  const y = await sa.mask(update);
  await pause?.beforeUpload?.();
  const up = await h.bytes(`/v1/update?round=${round}`, encodeFrame({ kind: 'masked', round, samples: 0, payload: y }));
  expect(up.status).toBe(200);
  await pause?.afterMask?.();
  if (drop === 'unmask') return 'gone';
  const req = await poll(h, `/v1/secagg/unmask?round=${round}`);
  expect(req.status).toBe(200);
  expect((await h.post('/v1/secagg/unmask', await sa.unmask((await req.json()) as never))).status).toBe(204);
  return 'done';
}

async function startServer(c: FlServerConfig, events: FlEvent[] = []) {
  const server = createFlServer(c, { onEvent: (e) => events.push(e) });
  const tokens = server.issueTokens([...Array(M).keys()]).map((t) => t.token);
  const url = await server.listen();
  for (let k = 0; k < M; k++) await http(() => url, tokens[k]!).post('/v1/register', { samples: 10 });
  await until(() => server.coordinator.state === 'open');
  return { server, tokens, url };
}

/** The plain round: a FederatedServer fed the survivors' clipped updates. */
async function reference(survivors: (plan: number[]) => number[], o: Partial<ServerOptions> = {}, rounds = 1) {
  const ref = new FederatedServer({
    params: new Float32Array(D),
    activity: new Array(M).fill(10),
    selection: { method: 'uniform', perRound: K, weighting: 'uniform' },
    seed: 5,
    optimizer: 'fedavg',
    normBound: CLIP,
    deadline: 30,
    ...o,
  });
  let epsilon: number | undefined;
  for (let r = 0; r < rounds; r++) {
    const plan = ref.beginRound(0);
    for (const k of survivors(plan.clients))
      expect(ref.submit({ client: k, round: r, update: clipToNorm(updateOf(D, r, k), CLIP), samples: 10 }, 0)).toBe(
        'accepted',
      );
    epsilon = (await ref.endRound()).epsilon;
  }
  return { params: ref.params, epsilon, releases: ref.dp?.accountant.releases };
}

/** Quantisation: ≤ ½ unit per update and coordinate, i.e. count / (2·scale), times the coefficient ≤ 1. */
function expectClose(a: Float32Array, b: Float32Array, count: number, scale: number) {
  const tol = count / scale + 1e-6;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst).toBeLessThanOrEqual(tol);
  expect(b.some((v) => v !== 0)).toBe(true);
}

const uploadsOf = (file: string) => {
  const { Database } = createRequire(import.meta.url)('node-sqlite3-wasm') as {
    Database: new (f: string, o?: unknown) => { all(sql: string): Record<string, unknown>[]; close(): void };
  };
  const db = new Database(file, { readOnly: true });
  try {
    return db.all('SELECT round, client, bytes FROM uploads');
  } finally {
    db.close();
  }
};

describe('secure aggregation on the wire', () => {
  it('refuses round rules a secure sum cannot serve, with typed config errors', () => {
    const bad: [Partial<FlServerConfig>, RegExp][] = [
      [{ aggregation: 'median' }, /config\.aggregation must be 'mean' with secure aggregation/],
      [{ selection: { method: 'uniform', perRound: K } }, /config\.selection\.weighting must be 'uniform'/],
      [{ selection: { method: 'uniform', perRound: 2, weighting: 'uniform' } }, /perRound must be at least 3/],
      [{ normBound: undefined }, /config\.secureAggregation\.clipNorm must be given/],
      [{ secureAggregation: { clipNorm: 2 } }, /clipNorm must be at most config\.normBound/],
      [{ secureAggregation: { neighbours: 4 } }, /neighbours must be given together with threshold/],
      [{ secureAggregation: { stageSeconds: { mask: 0 } } }, /stageSeconds\.mask must be/],
      [{ dp: { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5, adaptiveClip: true } }, /adaptiveClip must be unset/],
      [{ dp: { noiseMultiplier: 1, clipNorm: 1, delta: 1e-5 }, secureAggregation: { clipNorm: 1 } }, /unset with DP/],
    ];
    for (const [o, message] of bad) {
      const error = (() => {
        try {
          resolveConfig(config(o));
        } catch (e) {
          return e as Error & { code?: string };
        }
      })();
      expect(error?.message).toMatch(message);
      expect(error?.code).toBe('ERR_DPFL_INVALID_ARGUMENT');
    }
    expect(resolveConfig(config()).secureAggregation?.stageSeconds).toEqual({
      advertise: 2,
      share: 2,
      mask: 2,
      unmask: 2,
    });
  });

  for (const [name, plan] of [
    ['0% dropout', () => new Map<number, Drop>()],
    [
      '20% dropout',
      (c: number[]) =>
        new Map<number, Drop>([
          [c[0]!, 'advertise'],
          [c[1]!, 'mask'],
        ]),
    ],
    [
      '40% dropout',
      (c: number[]) =>
        new Map<number, Drop>([
          [c[0]!, 'advertise'],
          [c[1]!, 'mask'],
          [c[2]!, 'mask'],
          [c[3]!, 'unmask'],
        ]),
    ],
  ] as const) {
    it(`${name}: the model of a plain round on the survivors' clipped updates; no update in the clear on disk`, async () => {
      const file = join(dir, `${name.replace(/\W/g, '')}.db`);
      const events: FlEvent[] = [];
      const { server, tokens, url } = await startServer(config({ database: file }), events);
      const selected = server.coordinator.store.plan(0)!.selection.clients;
      const drops = plan(selected);
      const scale = (await taskOf(url, tokens[selected[0]!]!)).secureAggregation!.scale;
      const outcomes = await Promise.all(
        selected.map((k) => secureClient(() => url, tokens[k]!, k, 0, updateOf(D, 0, k), drops.get(k))),
      );
      expect(outcomes.filter((o) => o === 'done').length).toBe(K - drops.size);
      await until(() => events.some((e) => e.type === 'roundClosed'), 10_000);
      const closed = events.find((e) => e.type === 'roundClosed') as Extract<FlEvent, { type: 'roundClosed' }>;
      const survivors = selected.filter((k) => drops.get(k) !== 'advertise' && drops.get(k) !== 'mask');
      expect(closed.report).toMatchObject({ accepted: survivors.length, dropped: K - survivors.length, applied: true });
      const ref = await reference((c) => c.filter((k) => survivors.includes(k)));
      expectClose(server.coordinator.server.params, ref.params, survivors.length, scale);
      expect(events.filter((e) => e.type === 'secureStage').map((e) => (e as { stage: string }).stage)).toEqual([
        'share',
        'mask',
        'unmask',
        'done',
      ]);
      await server.close();
      // The database: no upload row holds bytes, and no client's clipped update appears in the file.
      expect(uploadsOf(file).filter((r) => r.bytes !== null)).toEqual([]);
      const bytes = readFileSync(file);
      for (const k of selected) {
        const u = clipToNorm(updateOf(D, 0, k), CLIP);
        const head = Buffer.from(u.buffer, u.byteOffset, 64);
        expect(bytes.indexOf(head)).toBe(-1);
      }
    }, 30_000);
  }

  it('refuses a plain float frame in a secure round, and other stage misuse', async () => {
    const { server, tokens, url } = await startServer(config({ secureAggregation: { pollSeconds: 0.02 } }));
    const k = server.coordinator.store.plan(0)!.selection.clients[0]!;
    const h = http(() => url, tokens[k]!);
    await taskOf(url, tokens[k]!);
    const plain = encodeFrame({ kind: 'float32', round: 0, samples: 10, payload: updateOf(D, 0, k) });
    const res = await h.bytes('/v1/update?round=0', plain);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'badFrame', reason: 'kind' });
    // Another client's message under this token.
    const other = server.coordinator.store.plan(0)!.selection.clients[1]!;
    const sa = new SecAggClient({ round: 0, client: other, dim: D, clipNorm: CLIP, scale: 1024, threshold: 2 });
    expect((await h.post('/v1/secagg/advertise', await sa.advertise())).status).toBe(403);
    // Roster before the stage closes: 204 with Retry-After.
    const wait = await h.get('/v1/secagg/roster?round=0');
    expect(wait.status).toBe(204);
    expect(wait.headers.get('retry-after')).toBe('0.02');
    expect((await h.get('/v1/secagg/nowhere')).status).toBe(404);
    await server.close();
  });

  it('a restart mid-round (masking stage) resumes the SecAgg round: the same model', async () => {
    const file = join(dir, 'restart.db');
    const c = config({
      database: file,
      secureAggregation: { stageSeconds: { advertise: 20, share: 20, mask: 20, unmask: 20 }, pollSeconds: 0.02 },
    });
    const first = await startServer(c);
    let url = first.url;
    const selected = first.server.coordinator.store.plan(0)!.selection.clients;
    const scale = (await taskOf(url, first.tokens[selected[0]!]!)).secureAggregation!.scale;
    let masked = 0;
    let release!: () => void;
    const restarted = new Promise<void>((r) => {
      release = r;
    });
    // Half of the clients upload their masked vector before the server goes down, the rest after;
    // no request is in flight when it does.
    let waiting = 0;
    const runs = selected.map((k, i) =>
      secureClient(() => url, first.tokens[k]!, k, 0, updateOf(D, 0, k), undefined, {
        beforeUpload: async () => {
          if (i < K / 2) return;
          waiting++;
          await restarted;
        },
        afterMask: async () => {
          masked++;
          waiting++;
          await restarted;
        },
      }),
    );
    await until(() => masked >= K / 2 && waiting === K, 10_000);
    await first.server.close();
    const events: FlEvent[] = [];
    const second = createFlServer(c, { onEvent: (e) => events.push(e) });
    url = await second.listen();
    release();
    expect(await Promise.all(runs)).toEqual(new Array(K).fill('done'));
    await until(() => events.some((e) => e.type === 'roundClosed'), 10_000);
    const ref = await reference((plan) => plan);
    expectClose(second.coordinator.server.params, ref.params, K, scale);
    expect(events.find((e) => e.type === 'roundOpened')).toMatchObject({ resumed: true });
    await second.close();
  }, 30_000);

  it('DP-FedAvg: the noised model of the plain round, each round accounted once across a restart', async () => {
    const file = join(dir, 'dp.db');
    const dp = { noiseMultiplier: 1.1, clipNorm: CLIP, delta: 1e-5, noiseSeed: 11 };
    const c = config({
      database: file,
      rounds: 2,
      normBound: undefined,
      dp,
      secureAggregation: { stageSeconds: { advertise: 20, share: 20, mask: 20, unmask: 20 }, pollSeconds: 0.02 },
    });
    const first = await startServer(c);
    let url = first.url;
    const tokens = first.tokens;
    const sel0 = first.server.coordinator.store.plan(0)!.selection.clients;
    const scale = (await taskOf(url, tokens[sel0[0]!]!)).secureAggregation!.scale;
    let release!: () => void;
    const restarted = new Promise<void>((r) => {
      release = r;
    });
    let masked = 0;
    // Every masked vector in, every client waiting (nothing in flight) when the server goes down.
    const runs0 = sel0.map((k) =>
      secureClient(() => url, tokens[k]!, k, 0, updateOf(D, 0, k), undefined, {
        afterMask: async () => {
          masked++;
          await restarted;
        },
      }),
    );
    await until(() => masked >= K, 10_000);
    await first.server.close();
    const events: FlEvent[] = [];
    const second = createFlServer(c, { onEvent: (e) => events.push(e) });
    url = await second.listen();
    release();
    await Promise.all(runs0);
    await until(() => second.coordinator.status().round === 1 && second.coordinator.state === 'open', 10_000);
    const sel1 = second.coordinator.store.plan(1)!.selection.clients;
    await Promise.all(sel1.map((k) => secureClient(() => url, tokens[k]!, k, 1, updateOf(D, 1, k))));
    await until(() => second.coordinator.state === 'finished', 10_000);
    const ref = await reference((plan) => plan, { normBound: undefined, dp: { ...dp, noiseSeed: 11n } }, 2);
    const status = second.coordinator.status();
    expect(status.history.length).toBe(2);
    expect(status.epsilon).toBe(ref.epsilon);
    expect(second.coordinator.server.dp!.accountant.releases).toBe(2);
    expect(ref.releases).toBe(2);
    expectClose(second.coordinator.server.params, ref.params, 2 * K, scale);
    await second.close();
  }, 40_000);

  it('joinFederation runs secure rounds; a client refuses an unmask request listing a neighbour twice', async () => {
    const data = syntheticDense({ size: 120, dim: 6, classes: 3, seed: 4 });
    const model = new SoftmaxRegression(6, 3);
    const c = config({
      model: { dim: model.dim, init: 'zeros' },
      rounds: 2,
      selection: { method: 'uniform', perRound: 5, weighting: 'uniform' },
      clients: { population: 5, activity: new Array(5).fill(24) },
      minClients: 5,
      secureAggregation: { stageSeconds: { advertise: 10, share: 10, mask: 10, unmask: 2 }, pollSeconds: 0.02 },
    });
    const events: FlEvent[] = [];
    const server = createFlServer(c, { onEvent: (e) => events.push(e) });
    const tokens = server.issueTokens([0, 1, 2, 3, 4]).map((t) => t.token);
    const url = await server.listen();
    // Client 0's "server" is malicious in round 1: the unmask request lists a survivor as dropped too.
    const evil: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes('/v1/secagg/unmask?round=1') || res.status !== 200) return res;
      const req = (await res.json()) as { survivors: number[]; dropped: number[] };
      req.dropped = [...req.dropped, req.survivors[0]!];
      return new Response(JSON.stringify(req), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const posted: string[] = [];
    const spy: typeof fetch = (input, init) => {
      if (init?.method === 'POST') posted.push(String(input).replace(url, ''));
      return evil(input, init);
    };
    const clientEvents: JoinEvent[][] = [[], [], [], [], []];
    const summaries = await Promise.all(
      tokens.map((token, k) =>
        joinFederation({
          url,
          token,
          model,
          data,
          examples: Int32Array.from({ length: 24 }, (_, i) => 24 * k + i),
          pollSeconds: 0.02,
          seed: 3,
          onEvent: (e) => clientEvents[k]!.push(e),
          ...(k === 0 ? { fetch: spy } : {}),
        }),
      ),
    );
    for (const s of summaries) expect(s).toMatchObject({ rounds: 2, accepted: 2, stopped: 'finished' });
    expect(clientEvents[0]!.find((e) => e.type === 'secureRefused')).toMatchObject({
      round: 1,
      step: 'unmask',
      reason: 'bothLists',
    });
    expect(posted.filter((p) => p === '/v1/secagg/unmask').length).toBe(1); // round 0's answer only
    const reports = server.coordinator.status().history as { applied: boolean; accepted: number }[];
    // Round 1 still unmasks: four answers give t shares of every secret.
    expect(reports.map((r) => [r.applied, r.accepted])).toEqual([
      [true, 5],
      [true, 5],
    ]);
    await server.close();
  }, 40_000);
});

async function taskOf(url: string, token: string): Promise<Task> {
  for (;;) {
    const res = await http(() => url, token).get('/v1/task');
    if (res.status === 200) return (await res.json()) as Task;
    await new Promise((r) => setTimeout(r, 20));
  }
}
