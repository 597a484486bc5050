// The `serve` section of `npm run bench` (issue 16): a load test of the network server. The server
// (createFlServer, plain HTTP on loopback, a model { dim: D, init: 'zeros' }, every one of K
// clients selected) runs in its own child process (serve-server.ts), so its RSS is its own; K
// clients are simulated by a few child processes (serve-clients.ts) over keep-alive connections,
// each registering, then per round fetching its task and the model and uploading a precomputed
// random update frame. The database is a real file in a temporary directory (each decision is
// committed with fsync: durability is part of the cost), and ':memory:' where its uploads fit.
//
// Per configuration: the round's latency (open → closed, first upload → closed), the ingest rate,
// the time inside the server per upload split into frame decoding (CRC-32 and copy), the rules'
// submit (copy into the aggregator, norm, folds: GB/s against the read probe sampled just before
// the section) and the SQLite insert, the closing, peak RSS / heap of the server process, and the
// database's size while the round is open and after it closed.
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { harnessPath, packageRoot, runHarness } from './harness.js';
import type { SectionRow } from './report.js';
import type { ClientsMessage, RoundStats, ServerChildArgs, ServerMessage, ToClients } from './serve-ipc.js';

export interface ServeCase {
  clients: number;
  dim: number;
  rounds: number;
  database: 'file' | 'memory';
  /** Client processes, and requests in flight per process. */
  processes: number;
  concurrency: number;
  /** The case fails after this long (default 15 minutes). */
  timeoutMs?: number;
}

export interface ServeResult extends ServeCase {
  /** Server child: database opened, K tokens issued, listening. */
  setupMs: number;
  /** Registration of all K clients (the slowest client process). */
  registerMs: number;
  stats: RoundStats[];
  /** Per round: the slowest client process's time for its clients' task + model + upload. */
  clientRoundMs: number[];
  /** 1-minute load average when the case started and ended. */
  loadAverage: { start: number; end: number };
}

/** The compiled children (the bench runs from dist/; a test needs `npm run build:ts` first). */
const child = (name: string) => join(packageRoot, 'dist', 'bench', `${name}.js`);

/** Messages of one child, awaited by predicate. */
class Mailbox<M extends { type: string }> {
  readonly #seen: M[] = [];
  readonly #waiting: { pred: (m: M) => boolean; resolve: (m: M) => void }[] = [];
  #failure: Error | undefined;
  readonly #failed: ((e: Error) => void)[] = [];

  constructor(
    readonly proc: ChildProcess,
    name: string,
  ) {
    let stderr = '';
    proc.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-2000)));
    proc.on('message', (m: M) => {
      if (m.type === 'error') this.fail(new Error(`${name}: ${(m as unknown as { message: string }).message}`));
      const i = this.#waiting.findIndex((w) => w.pred(m));
      if (i >= 0) this.#waiting.splice(i, 1)[0]!.resolve(m);
      else this.#seen.push(m);
    });
    proc.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`${name} exited with ${code}: ${stderr.trim()}`));
    });
  }

  fail(e: Error): void {
    this.#failure ??= e;
    for (const f of this.#failed.splice(0)) f(e);
  }

  next<T extends M>(pred: (m: M) => m is T): Promise<T>;
  next(pred: (m: M) => boolean): Promise<M>;
  next(pred: (m: M) => boolean): Promise<M> {
    const i = this.#seen.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.#seen.splice(i, 1)[0]!);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ pred, resolve });
      this.#failed.push(reject);
    });
  }
}

const spawn = (name: string, arg?: unknown) =>
  fork(child(name), arg === undefined ? [] : [JSON.stringify(arg)], {
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });

/** Runs one configuration; throws when any request failed or the case ran past its timeout. */
export async function runServeCase(c: ServeCase): Promise<ServeResult> {
  for (const name of ['serve-server', 'serve-clients'])
    if (!existsSync(child(name))) throw new Error(`${child(name)} is missing: run npm run build:ts first`);
  const loadStart = loadavg()[0] ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'dpfl-serve-'));
  const database = c.database === 'memory' ? ':memory:' : join(dir, 'fl.db');
  const serverArgs: ServerChildArgs = { clients: c.clients, dim: c.dim, rounds: c.rounds, database };
  const server = new Mailbox<ServerMessage>(spawn('serve-server', serverArgs), 'server');
  const clients: Mailbox<ClientsMessage>[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = c.timeoutMs ?? 15 * 60_000;
  try {
    const work = (async () => {
      const ready = await server.next((m) => m.type === 'ready');
      if (ready.type !== 'ready') throw new Error('unreachable');
      const P = Math.max(1, Math.min(c.processes, c.clients));
      for (let p = 0; p < P; p++) {
        const tokens = ready.tokens.filter((_, k) => k % P === p);
        const args = { url: ready.url, tokens, dim: c.dim, concurrency: c.concurrency, seed: 1 + p };
        const box = new Mailbox<ClientsMessage>(spawn('serve-clients'), `clients ${p}`);
        box.proc.send({ type: 'init', args } satisfies ToClients);
        clients.push(box);
      }
      const tell = (m: ToClients) => {
        for (const b of clients) b.proc.send(m);
      };
      tell({ type: 'register' });
      const registered = await Promise.all(clients.map((b) => b.next((m) => m.type === 'registered')));
      const stats: RoundStats[] = [];
      const clientRoundMs: number[] = [];
      for (let r = 0; r < c.rounds; r++) {
        await server.next((m) => m.type === 'roundOpened' && m.round === r);
        tell({ type: 'round', round: r });
        const done = await Promise.all(clients.map((b) => b.next((m) => m.type === 'roundDone' && m.round === r)));
        clientRoundMs.push(Math.max(...done.map((m) => (m.type === 'roundDone' ? m.ms : 0))));
        const closed = await server.next((m) => m.type === 'roundClosed' && m.stats.round === r);
        if (closed.type === 'roundClosed') stats.push(closed.stats);
      }
      await server.next((m) => m.type === 'finished');
      return {
        setupMs: ready.setupMs,
        registerMs: Math.max(...registered.map((m) => (m.type === 'registered' ? m.ms : 0))),
        stats,
        clientRoundMs,
      };
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
    });
    const out = await Promise.race([work, timeout]);
    return { ...c, ...out, loadAverage: { start: loadStart, end: loadavg()[0] ?? 0 } };
  } finally {
    clearTimeout(timer);
    // A child that is dying may still look connected: the send then fails with EPIPE, which the
    // callback takes (without one it is an uncaught exception); its exit is what is waited for.
    const ignore = () => {};
    for (const b of clients) {
      if (b.proc.connected) b.proc.send({ type: 'exit' } satisfies ToClients, ignore);
      else b.proc.kill();
    }
    if (server.proc.connected) {
      server.proc.send({ type: 'close' }, ignore);
      await new Promise((resolve) => {
        if (server.proc.exitCode !== null || server.proc.signalCode !== null) return resolve(undefined);
        const kill = setTimeout(() => server.proc.kill('SIGKILL'), 30_000);
        server.proc.once('exit', () => resolve(clearTimeout(kill)));
      });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The read probe of the C++ harness (2 GiB, 2 passes) when its binary is built; else null. */
async function probe(): Promise<number | null> {
  const buildDir = join(packageRoot, 'build-cmake');
  if (!existsSync(harnessPath(buildDir))) return null;
  const report = await runHarness({
    quick: true,
    filter: '^$', // no kernel: the probes at the start and the end only
    baselines: false,
    isaSweep: false,
    buildDir,
    probeMib: undefined,
    probeReps: 2,
    timeMs: undefined,
    onProgress: () => {},
  });
  return report.probe.bestGBps;
}

const MB = 1e6;
const exp = (d: number) => d.toExponential(0).replace('+', '');

/** The numbers of a row from the last (warm) round of a case. */
export function serveValues(r: ServeResult, probeGBps: number | null): Record<string, number> {
  const s = r.stats[r.stats.length - 1]!;
  const bytes = r.clients * 4 * r.dim; // update payload bytes of one round
  const decodeMs = s.uploadMs - s.submitMs - s.recordMs;
  const gbps = (ms: number) => bytes / (ms * 1e-3) / 1e9;
  const aggregateGBps = gbps(s.submitMs);
  const peak = (k: 'peakRss' | 'peakHeapUsed' | 'peakArrayBuffers' | 'peakExternal') =>
    Math.max(...r.stats.map((x) => x[k]));
  return {
    clients: r.clients,
    dim: r.dim,
    processes: r.processes,
    inFlight: r.processes * r.concurrency,
    setupMs: r.setupMs,
    registerMs: r.registerMs,
    openToClosedMs: s.closedAt - s.openedAt,
    firstUploadToClosedMs: s.closedAt - s.firstUploadAt,
    firstRoundOpenToClosedMs: r.stats[0]!.closedAt - r.stats[0]!.openedAt,
    clientRoundMs: r.clientRoundMs[r.clientRoundMs.length - 1]!,
    uploadBytes: bytes,
    ingestMBps: bytes / MB / ((s.lastUploadAt - s.firstUploadAt) * 1e-3),
    uploadMsPerUpload: s.uploadMs / s.uploads,
    decodeMs,
    submitMs: s.submitMs,
    recordMs: s.recordMs,
    endRoundMs: s.endRoundMs,
    closeRoundMs: s.closeRoundMs,
    queryMs: s.queryMs,
    activeMs: s.activeMs,
    /** Active time outside the wrapped calls: HTTP parsing, body reads, routing, the model's sends. */
    httpMs: s.activeMs - s.uploadMs - s.queryMs - s.endRoundMs - s.closeRoundMs,
    decodeGBps: gbps(decodeMs),
    aggregateGBps,
    sqliteGBps: gbps(s.recordMs),
    serverGBps: gbps(s.uploadMs),
    ...(probeGBps === null ? {} : { probeGBps, aggregatePctProbe: (100 * aggregateGBps) / probeGBps }),
    // Memory: RSS when round 0 opened (all K registered) and the peaks over all rounds.
    rssAtOpenMB: r.stats[0]!.rssAtOpen / MB,
    peakRssMB: peak('peakRss') / MB,
    peakRssExact: r.stats.every((x) => x.peakRssExact) ? 1 : 0,
    peakHeapUsedMB: peak('peakHeapUsed') / MB,
    peakArrayBuffersMB: peak('peakArrayBuffers') / MB,
    peakExternalMB: peak('peakExternal') / MB,
    dbBytesOpenMB: s.dbBytesOpen / MB,
    dbBytesClosedMB: s.dbBytesClosed / MB,
    loadStart: r.loadAverage.start,
    loadEnd: r.loadAverage.end,
  };
}

function row(r: ServeResult, probeGBps: number | null): SectionRow {
  const v = serveValues(r, probeGBps);
  const f = (x: number, d = 0) => x.toFixed(d);
  const db = r.database === 'file' ? 'file db' : ':memory: db';
  const pct = v.aggregatePctProbe === undefined ? '' : ` = ${f(v.aggregatePctProbe)}% of probe`;
  return {
    name: `serve K=${r.clients} D=${exp(r.dim)} ${db}: round open→closed`,
    medianMs: v.openToClosedMs!,
    detail:
      `first upload→closed ${f(v.firstUploadToClosedMs!)} ms; ingest ${f(v.ingestMBps!)} MB/s; ` +
      `in server: decode+CRC ${f(v.decodeMs!)} ms, ` +
      `submit ${f(v.submitMs!)} ms (${f(v.aggregateGBps!, 2)} GB/s${pct}), ` +
      `SQLite ${f(v.recordMs!)} ms, reads ${f(v.queryMs!)} ms; HTTP and rest ${f(v.httpMs!)} ms ` +
      `(active ${f(v.activeMs!)} ms); close ${f(v.endRoundMs! + v.closeRoundMs!)} ms; ` +
      `RSS ${f(v.rssAtOpenMB!)}→${f(v.peakRssMB!)} MB, heap ${f(v.peakHeapUsedMB!)} MB; ` +
      (r.database === 'file' ? `db ${f(v.dbBytesOpenMB!)} MB open, ${f(v.dbBytesClosedMB!)} MB closed; ` : '') +
      `register ${f(v.registerMs! / 1000, 1)} s; load ${v.loadStart!.toFixed(1)}`,
    values: v,
  };
}

/** Bytes of updates a round may carry in this section (K·4·D); larger configurations are skipped. */
export const ROUND_BYTES_CAP = 4e9;

export async function benchServe(options: { quick?: boolean } = {}): Promise<SectionRow[]> {
  const quick = options.quick ?? false;
  const Ks = quick ? [100, 1000] : [100, 1000, 10_000];
  const Ds = quick ? [1e4, 1e5] : [1e4, 1e5, 1e6];
  const base = { processes: 2, concurrency: 32 };
  // Two rounds (the second warm) where a round moves at most 1 GB and K < 10000; one above (minutes of fsync).
  const rounds = (clients: number, dim: number) => (quick || clients >= 10_000 || clients * 4 * dim > 1e9 ? 1 : 2);
  const cases: ServeCase[] = [];
  for (const dim of Ds)
    for (const clients of Ks) cases.push({ ...base, clients, dim, rounds: rounds(clients, dim), database: 'file' });
  // ':memory:' keeps the open round's uploads in SQLite's WASM heap (at most 4 GiB): up to 1 GB.
  for (const dim of Ds) cases.push({ ...base, clients: 1000, dim, rounds: rounds(1000, dim), database: 'memory' });
  const probeGBps = await probe();
  const rows: SectionRow[] = [];
  for (const c of cases) {
    const bytes = c.clients * 4 * c.dim;
    const cap = c.database === 'memory' ? 1e9 : ROUND_BYTES_CAP;
    const name = `serve K=${c.clients} D=${exp(c.dim)} ${c.database === 'file' ? 'file db' : ':memory: db'}`;
    if (bytes > cap) {
      if (c.database === 'file')
        rows.push({
          name,
          medianMs: Number.NaN,
          detail: `skipped: ${bytes / 1e9} GB of updates per round > ${cap / 1e9} GB`,
        });
      continue;
    }
    try {
      rows.push(row(await runServeCase(c), probeGBps));
    } catch (error) {
      rows.push({ name, medianMs: Number.NaN, detail: `failed: ${(error as Error).message}` });
    }
  }
  const after = await probe();
  if (probeGBps !== null && after !== null)
    rows.push({
      name: 'serve: read probe before / after the section',
      medianMs: Number.NaN,
      detail: `${probeGBps.toFixed(1)} / ${after.toFixed(1)} GB/s`,
      values: { probeGBps, probeAfterGBps: after },
    });
  return rows;
}
