// The messages between the `serve` bench (serve.ts, the parent) and its two kinds of child
// processes: the server (serve-server.ts) and the simulated clients (serve-clients.ts).

/** argv[2] of the server child, as JSON. */
export interface ServerChildArgs {
  clients: number;
  dim: number;
  rounds: number;
  /** A file path (a real database, fsync on commit) or ':memory:'. */
  database: string;
}

/** Time inside the server for one round, from the wrapped Coordinator / FederatedServer / FlStore methods. */
export interface RoundStats {
  round: number;
  /** performance.now() of the server child: round opened, first upload admitted, last upload decided, closed. */
  openedAt: number;
  firstUploadAt: number;
  lastUploadAt: number;
  closedAt: number;
  uploads: number;
  /** Sum over uploads of Coordinator.upload: frame decode (CRC-32, copy) + submit + recordUpload. */
  uploadMs: number;
  /** Sum over uploads of FederatedServer.submit: the copy into the aggregator, its norm, the folds. */
  submitMs: number;
  /** Sum over uploads of FlStore.recordUpload: the SQLite insert of the update bytes and its commit. */
  recordMs: number;
  /** FederatedServer.endRound (the aggregate and the optimizer step) and FlStore.closeRound. */
  endRoundMs: number;
  closeRoundMs: number;
  /** Sum of FlStore.client and FlStore.hasUpload: the SQLite reads of each request (token, duplicates). */
  queryMs: number;
  /** Event-loop time the server process spent active (not idle) between open and closed. */
  activeMs: number;
  /** Size of the database file (and its journal) just before the round's closing transaction, and after it. */
  dbBytesOpen: number;
  dbBytesClosed: number;
  /** process.memoryUsage() when the round opened and the peaks sampled while it was open. */
  rssAtOpen: number;
  /** Peak RSS while the round was open (VmHWM, reset when the round opened), else the sampled peak. */
  peakRss: number;
  peakRssExact: boolean;
  peakHeapUsed: number;
  peakArrayBuffers: number;
  peakExternal: number;
}

export type ServerMessage =
  | { type: 'ready'; url: string; tokens: string[]; setupMs: number }
  | { type: 'roundOpened'; round: number }
  | { type: 'roundClosed'; stats: RoundStats }
  | { type: 'finished' }
  | { type: 'error'; message: string };

/** The first message to a clients child (10000 tokens do not fit in argv). */
export interface ClientsChildArgs {
  url: string;
  /** Tokens `<id>.<secret>` of the clients this process simulates. */
  tokens: string[];
  dim: number;
  /** Requests in flight at once from this process. */
  concurrency: number;
  seed: number;
}

export type ToClients =
  | { type: 'init'; args: ClientsChildArgs }
  | { type: 'register' }
  | { type: 'round'; round: number }
  | { type: 'exit' };

export type ClientsMessage =
  | { type: 'registered'; ms: number }
  | { type: 'roundDone'; round: number; ms: number; bytesUp: number; bytesDown: number }
  | { type: 'error'; message: string };
