// The server child of the `serve` bench (forked by serve.ts): createFlServer on loopback, every
// client selected, the round opening once all K registered. It runs alone in its process so its
// RSS is the server's own. Time inside the server is taken by wrapping, on this instance only,
// the methods an upload goes through (Coordinator.upload → FederatedServer.submit →
// FlStore.recordUpload) and the round's closing (endRound, closeRound): nothing in src/fl/net
// changes, and the wrappers add two performance.now() calls per upload.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { performance as perf, type EventLoopUtilization } from 'node:perf_hooks';
import { createFlServer } from '../fl/net/server.js';
import type { RoundStats, ServerChildArgs, ServerMessage } from './serve-ipc.js';

const args = JSON.parse(process.argv[2] ?? '{}') as ServerChildArgs;
const send = (m: ServerMessage) => process.send?.(m);

/** Peak resident set (VmHWM) in bytes, or undefined where /proc is not there. */
function vmHwm(): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false where that is not possible. */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function fileBytes(path: string): number {
  let n = 0;
  for (const p of [path, `${path}-journal`]) {
    try {
      n += statSync(p).size;
    } catch {
      // absent: 0
    }
  }
  return n;
}

function blank(round: number): RoundStats {
  const m = process.memoryUsage();
  return {
    round,
    openedAt: performance.now(),
    firstUploadAt: Number.NaN,
    lastUploadAt: Number.NaN,
    closedAt: Number.NaN,
    uploads: 0,
    uploadMs: 0,
    submitMs: 0,
    recordMs: 0,
    endRoundMs: 0,
    closeRoundMs: 0,
    queryMs: 0,
    activeMs: 0,
    dbBytesOpen: 0,
    dbBytesClosed: 0,
    rssAtOpen: m.rss,
    peakRss: m.rss,
    peakRssExact: false,
    peakHeapUsed: m.heapUsed,
    peakArrayBuffers: m.arrayBuffers,
    peakExternal: m.external,
  };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const K = args.clients;
  let stats = blank(-1);
  let exact = false;
  let elu: EventLoopUtilization = perf.eventLoopUtilization();
  const server = createFlServer(
    {
      listen: { host: '127.0.0.1', port: 0 },
      database: args.database,
      model: { dim: args.dim, init: 'zeros' },
      clients: { population: K, activity: 'reported', maxSamples: 1 },
      selection: { method: 'uniform', perRound: K },
      rounds: args.rounds,
      roundSeconds: 3600,
      minClients: K,
      training: { epochs: 1, batchSize: 1, lr: 0.1, mu: 0 },
      limits: { requestsPerMinute: 1e6 },
    },
    {
      onEvent(e) {
        if (e.type === 'roundOpened') {
          stats = blank(e.round);
          elu = perf.eventLoopUtilization();
          exact = resetPeak() && vmHwm() !== undefined;
          send({ type: 'roundOpened', round: e.round });
        } else if (e.type === 'roundClosed') {
          stats.closedAt = performance.now();
          stats.activeMs = perf.eventLoopUtilization(elu).active;
          sample();
          const hwm = exact ? vmHwm() : undefined;
          if (hwm !== undefined) stats = { ...stats, peakRss: Math.max(stats.peakRss, hwm), peakRssExact: true };
          send({ type: 'roundClosed', stats });
        } else if (e.type === 'finished') {
          send({ type: 'finished' });
        } else if (e.type === 'error') {
          send({ type: 'error', message: e.message });
        }
      },
    },
  );
  const sample = () => {
    const m = process.memoryUsage();
    stats.peakRss = Math.max(stats.peakRss, m.rss);
    stats.peakHeapUsed = Math.max(stats.peakHeapUsed, m.heapUsed);
    stats.peakArrayBuffers = Math.max(stats.peakArrayBuffers, m.arrayBuffers);
    stats.peakExternal = Math.max(stats.peakExternal, m.external);
  };
  setInterval(sample, 10).unref();

  const c = server.coordinator;
  const fl = c.server;
  const store = c.store;
  const admit = c.admitUpload.bind(c);
  c.admitUpload = (client, round) => {
    if (Number.isNaN(stats.firstUploadAt)) stats.firstUploadAt = performance.now();
    return admit(client, round);
  };
  const upload = c.upload.bind(c);
  c.upload = (client, round, bytes) => {
    const t = performance.now();
    try {
      return upload(client, round, bytes);
    } finally {
      const end = performance.now();
      stats.uploadMs += end - t;
      stats.uploads += 1;
      stats.lastUploadAt = end;
    }
  };
  const submit = fl.submit.bind(fl);
  fl.submit = (report, now) => {
    const t = performance.now();
    try {
      return submit(report, now);
    } finally {
      stats.submitMs += performance.now() - t;
    }
  };
  const record = store.recordUpload.bind(store);
  store.recordUpload = (round, u) => {
    const t = performance.now();
    try {
      record(round, u);
    } finally {
      stats.recordMs += performance.now() - t;
    }
  };
  const endRound = fl.endRound.bind(fl);
  fl.endRound = async () => {
    const t = performance.now();
    try {
      return await endRound();
    } finally {
      stats.endRoundMs += performance.now() - t;
    }
  };
  const timed =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    (...a: A): R => {
      const t = performance.now();
      try {
        return fn(...a);
      } finally {
        stats.queryMs += performance.now() - t;
      }
    };
  store.client = timed(store.client.bind(store));
  store.hasUpload = timed(store.hasUpload.bind(store));
  const closeRound = store.closeRound.bind(store);
  store.closeRound = (round, report, snapshot, closedAt) => {
    const memory = args.database === ':memory:';
    stats.dbBytesOpen = memory ? 0 : fileBytes(args.database);
    const t = performance.now();
    try {
      closeRound(round, report, snapshot, closedAt);
    } finally {
      stats.closeRoundMs += performance.now() - t;
      stats.dbBytesClosed = memory ? 0 : fileBytes(args.database);
    }
  };

  const issued = server.issueTokens(Array.from({ length: K }, (_, k) => k));
  const url = await server.listen();
  send({ type: 'ready', url, tokens: issued.map((t) => t.token), setupMs: performance.now() - t0 });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'close') void server.close().then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  send({ type: 'error', message: (error as Error)?.stack ?? String(error) });
  process.exit(1);
});
