// A minimal coordinator speaking the routes of src/fl/client/protocol.ts over node:http, for the
// client tests (in process and from a browser) until they run against createFlServer. It keeps one
// open round at a time, selects every registered client, checks every upload frame (decodeFrame:
// magic, dim, length, CRC), applies the mean update, and answers 410 Gone after `rounds` rounds.
// Cross-origin: it answers CORS preflights and exposes the headers a browser client must read.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, decodeFrame, type Frame } from '../../../src/fl/client/wire.js';
import type { EvaluationReport, Task } from '../../../src/fl/client/protocol.js';

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface FakeOptions {
  dim: number;
  rounds: number;
  /** Tokens accepted: token → client id. */
  tokens: Record<string, number>;
  /** Clients that must upload before a round closes (default: every registered client). */
  perRound?: number;
  training?: Task['training'];
  evaluate?: boolean;
  /** Retry-After of a 204 (seconds, as sent). Default '0'. */
  retryAfter?: string;
  /** CORS headers replacing the defaults (e.g. to leave a header unexposed). */
  cors?: Record<string, string>;
  /** Called first for every request: an Answer replaces the normal handling. */
  intercept?: (route: string, method: string, client: number | undefined, hit: number) => Answer | undefined;
}

export interface FakeCoordinator {
  url: string;
  global: Float32Array;
  round: number;
  registered: Map<number, number>;
  uploads: Array<Frame & { client: number }>;
  badFrames: string[];
  evaluations: Array<EvaluationReport & { client: number }>;
  requests: string[];
  close(): Promise<void>;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type',
  'access-control-expose-headers': 'x-dpfl-crc32, retry-after',
  'access-control-max-age': '600',
};

async function read(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

function send(res: ServerResponse, a: Answer, cors: Record<string, string>): void {
  const headers: Record<string, string> = { ...cors, ...a.headers };
  let payload: Uint8Array | string | undefined;
  if (a.body instanceof Uint8Array) {
    payload = a.body;
    headers['content-type'] = 'application/octet-stream';
  } else if (a.body !== undefined) {
    payload = JSON.stringify(a.body);
    headers['content-type'] = 'application/json';
  }
  res.writeHead(a.status, headers);
  res.end(payload);
}

const refuse = (status: number, error: string, message: string, reason?: string): Answer => ({
  status,
  body: { error, message, ...(reason ? { reason } : {}) },
});

export async function startFakeCoordinator(o: FakeOptions): Promise<FakeCoordinator> {
  const fake: Omit<FakeCoordinator, 'url' | 'close'> = {
    global: new Float32Array(o.dim),
    round: 0,
    registered: new Map(),
    uploads: [],
    badFrames: [],
    evaluations: [],
    requests: [],
  };
  const done = new Set<number>(); // clients that uploaded in the open round
  const pending: Float32Array[] = [];
  const hits = new Map<string, number>();

  async function handle(req: IncomingMessage): Promise<Answer> {
    const url = new URL(req.url ?? '/', 'http://x');
    const route = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') return { status: 204 };
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const client = auth ? o.tokens[auth[1]!] : undefined;
    const key = `${method} ${route}`;
    fake.requests.push(key);
    hits.set(key, (hits.get(key) ?? 0) + 1);
    const body = method === 'POST' ? await read(req) : new Uint8Array(0);
    const forced = o.intercept?.(route, method, client, hits.get(key)!);
    if (forced) return forced;
    if (client === undefined) return refuse(401, 'unauthorized', 'unknown token');
    const finished = fake.round >= o.rounds;
    if (route === '/v1/register' && method === 'POST') {
      const { samples } = JSON.parse(new TextDecoder().decode(body)) as { samples: number };
      fake.registered.set(client, samples);
      return { status: 200, body: { protocol: 1, client, dim: o.dim } };
    }
    if (finished) return refuse(410, 'gone', 'the federation has finished');
    if (route === '/v1/task' && method === 'GET') {
      if (done.has(client)) return { status: 204, headers: { 'retry-after': o.retryAfter ?? '0' } };
      const task: Task = {
        round: fake.round,
        training: o.training ?? { epochs: 1, batchSize: 8, lr: 0.5, mu: 0 },
        evaluate: o.evaluate ?? false,
      };
      return { status: 200, body: task };
    }
    if (route === '/v1/model' && method === 'GET') {
      const r = Number(url.searchParams.get('round'));
      if (r !== fake.round) return refuse(404, 'notFound', `round ${r} is not open`);
      const bytes = new Uint8Array(fake.global.buffer.slice(0));
      return { status: 200, headers: { 'x-dpfl-crc32': String(crc32(bytes)) }, body: bytes };
    }
    if (route === '/v1/update' && method === 'POST') {
      if (Number(url.searchParams.get('round')) !== fake.round) return refuse(409, 'late', 'round closed');
      if (done.has(client)) return refuse(409, 'duplicate', 'already reported');
      const frame = decodeFrame(body, o.dim);
      if ('error' in frame) {
        fake.badFrames.push(frame.error);
        return refuse(400, 'badFrame', 'bad frame', frame.error);
      }
      if (frame.round !== fake.round || frame.kind !== 'float32') return refuse(400, 'badFrame', 'round or kind');
      fake.uploads.push({ ...frame, client });
      pending.push(frame.payload as Float32Array);
      done.add(client);
      if (done.size >= (o.perRound ?? fake.registered.size)) {
        for (let j = 0; j < o.dim; j++) {
          let s = 0;
          for (const u of pending) s += u[j]!;
          fake.global[j] = fake.global[j]! + s / pending.length;
        }
        pending.length = 0;
        done.clear();
        fake.round++;
      }
      return { status: 200, body: { status: 'accepted', round: frame.round } };
    }
    if (route === '/v1/evaluate' && method === 'POST') {
      fake.evaluations.push({ ...(JSON.parse(new TextDecoder().decode(body)) as EvaluationReport), client });
      return { status: 204 };
    }
    return refuse(404, 'notFound', route);
  }

  const server: Server = createServer((req, res) => {
    handle(req).then(
      (a) => send(res, a, { ...CORS, ...o.cors }),
      (e: unknown) => send(res, refuse(500, 'internal', String(e)), { ...CORS, ...o.cors }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as FakeCoordinator;
}
