// Helpers of the process tests (test/fl/net/*processes*.test.ts): `dpfl serve` and `dpfl join` as
// users run them (the compiled dist/cli/main.js; `npm run build:ts` first), a free loopback port,
// and the in-process replay of a networked run in the server's arrival order.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FederationData } from '../../../src/cli/commands/federation-data.js';
import { Random } from '../../../src/data/random.js';
import { FederatedClient } from '../../../src/fl/client.js';
import type { LocalTrainingOptions } from '../../../src/fl/model.js';
import { FlStore } from '../../../src/fl/net/store.js';
import { FederatedServer, type ServerOptions } from '../../../src/fl/server.js';

export const MAIN = new URL('../../../dist/cli/main.js', import.meta.url).pathname;

export type Event = Record<string, unknown> & { type: string };

const children = new Set<ChildProcessWithoutNullStreams>();
/** Kills (SIGKILL) every process these helpers started that is still running (afterAll). */
export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
}

function track(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: string | null }> {
  children.add(child);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** `dpfl serve --config FILE --json`: its events, next(pred) (the first old or new event matching pred). */
export function serve(config: string, linger = 30) {
  const child = spawn('node', [MAIN, 'serve', '--config', config, '--json', '--linger', String(linger)]);
  const exited = track(child);
  const events: Event[] = [];
  const waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    buffer += d;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const e = JSON.parse(buffer.slice(0, nl)) as Event;
      buffer = buffer.slice(nl + 1);
      events.push(e);
      if (process.env.DPFL_TEST_DEBUG)
        appendFileSync(process.env.DPFL_TEST_DEBUG, `${new Date().toISOString()} ${JSON.stringify(e).slice(0, 200)}\n`);
      for (const w of [...waiters]) {
        if (!w.pred(e)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  const next = (pred: (e: Event) => boolean) =>
    new Promise<Event>((resolve, reject) => {
      const found = events.find(pred);
      if (found) return resolve(found);
      waiters.push({ pred, resolve });
      void exited.then(({ code, signal }) =>
        reject(new Error(`dpfl serve exited (${code ?? signal}) before the event: ${stderr}`)),
      );
    });
  return { child, events, next, exited, stderr: () => stderr };
}

/** `dpfl join --url URL FLAGS... --json` with DPFL_TOKEN; resolves with its summary, or its exit if it has none. */
export function join(url: string, token: string, flags: string[]) {
  const child = spawn('node', [MAIN, 'join', '--url', url, ...flags, '--json'], {
    env: { ...process.env, DPFL_TOKEN: token, DPFL_THREADS: '1' },
  });
  const exited = track(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = exited.then(({ code, signal }) => ({
    code,
    signal,
    summary: code === 0 ? (JSON.parse(stdout) as Record<string, unknown>) : undefined,
    stderr,
  }));
  return { child, done };
}

/** A loopback port free a moment ago (a restarted server must come back on the same one). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Flags as argv: { dataset: 'spam' } → ['--dataset', 'spam']. */
export const argv = (flags: Record<string, string>) => Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]);

/** The clients whose uploads the server decided on, per round, in its order (from its `upload` events). */
export function arrivals(events: Event[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const e of events) {
    if (e.type !== 'upload') continue;
    const r = e.round as number;
    out.set(r, [...(out.get(r) ?? []), e.client as number]);
  }
  return out;
}

/** The uploads the server decided on, per round, in arrival order, as its database keeps them (after it exited). */
export function storedOrder(database: string, rounds: number): Map<number, number[]> {
  const store = new FlStore(database);
  try {
    const out = new Map<number, number[]>();
    for (let r = 0; r < rounds; r++) {
      const uploads = store.uploads(r).map((u) => u.client);
      if (uploads.length) out.set(r, uploads);
    }
    return out;
  } finally {
    store.close();
  }
}

/**
 * The networked run redone in process: a FederatedServer with the server's rules, and for each round
 * the clients of `order` (the server's arrival order) training as `dpfl join --train-seed seed`
 * does — simulate()'s stream Random.derive(seed, 3, t, k) after its dropout draw — submitted in that
 * order. Clients absent from a round's order never reported (dropped).
 */
export async function replay(
  fed: FederationData,
  rules: Omit<ServerOptions, 'params' | 'activity'>,
  local: LocalTrainingOptions,
  seed: number,
  rounds: number,
  order: Map<number, number[]>,
): Promise<FederatedServer> {
  const { model, train, partition } = fed;
  const server = new FederatedServer({ ...rules, params: model.init(), activity: partition.sizes });
  const clients = partition.clients.map((idx, k) => new FederatedClient(k, model, train, () => idx, local));
  for (let t = 0; t < rounds; t++) {
    const plan = server.beginRound(0);
    for (const k of order.get(t) ?? []) {
      const rng = Random.derive(seed, 3, t, k);
      rng.next();
      server.submit(await clients[k]!.train(plan.params, t, rng), 0);
    }
    await server.endRound();
  }
  return server;
}
