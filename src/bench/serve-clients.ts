// A clients child of the `serve` bench (forked by serve.ts): simulates many clients of the protocol
// (src/fl/client/protocol.ts) over keep-alive connections of the global fetch, at most
// `concurrency` requests in flight. No training: every client uploads the same precomputed random
// update frame (wire.ts) — the bench measures the server. The parent says when to register and
// when a round is open (it hears it from the server), so no polling delay enters the latencies.
import { Random } from '../data/random.js';
import { ROUTES } from '../fl/client/protocol.js';
import { encodeFrame } from '../fl/client/wire.js';
import type { ClientsChildArgs, ClientsMessage, ToClients } from './serve-ipc.js';

let args: ClientsChildArgs;
let update: Float32Array;
const send = (m: ClientsMessage) => process.send?.(m);

function init(a: ClientsChildArgs): void {
  args = a;
  const rng = new Random(a.seed);
  update = Float32Array.from({ length: a.dim }, () => (rng.next() - 0.5) * 1e-3);
}

/** Runs task(i) for i in [0, n) with at most `limit` running at once. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

async function call(token: string, path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${args.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
  });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

async function register(): Promise<void> {
  const t = performance.now();
  const body = JSON.stringify({ samples: 1, agent: 'dpfl-bench' });
  await pool(args.tokens.length, args.concurrency, async (i) => {
    const res = await call(args.tokens[i]!, ROUTES.register, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    await res.arrayBuffer();
  });
  send({ type: 'registered', ms: performance.now() - t });
}

async function round(r: number): Promise<void> {
  const t = performance.now();
  const frame = encodeFrame({ kind: 'float32', round: r, samples: 1, payload: update });
  let up = 0;
  let down = 0;
  await pool(args.tokens.length, args.concurrency, async (i) => {
    const token = args.tokens[i]!;
    const task = (await (await call(token, ROUTES.task)).json()) as { round: number };
    if (task.round !== r) throw new Error(`task for round ${task.round}, expected ${r}`);
    const model = await (await call(token, `${ROUTES.model}?round=${r}`)).arrayBuffer();
    if (model.byteLength !== 4 * args.dim) throw new Error(`model of ${model.byteLength} bytes`);
    down += model.byteLength;
    const res = await call(token, `${ROUTES.update}?round=${r}`, {
      method: 'POST',
      body: frame,
      headers: { 'content-type': 'application/octet-stream' },
    });
    await res.arrayBuffer();
    up += frame.byteLength;
  });
  send({ type: 'roundDone', round: r, ms: performance.now() - t, bytesUp: up, bytesDown: down });
}

process.on('message', (m: ToClients) => {
  const fail = (error: unknown) => send({ type: 'error', message: (error as Error)?.message ?? String(error) });
  if (m.type === 'init') init(m.args);
  else if (m.type === 'register') register().catch(fail);
  else if (m.type === 'round') round(m.round).catch(fail);
  else process.exit(0);
});
