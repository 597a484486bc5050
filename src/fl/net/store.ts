// The coordinator's crash-safe state in one embedded SQLite database.
//
// node-sqlite3-wasm: SQLite compiled to WebAssembly with a Node fs VFS that fsyncs on commit. No
// compiler and no native binary are needed; better-sqlite3 (the usual choice) ships prebuilt
// binaries that cannot be downloaded in every install environment, and building it needs a
// toolchain. The WASM VFS has no shared memory, so the journal is the rollback journal (no WAL):
// every commit is durable when it returns (synchronous = FULL).
//
// What is stored, each write one transaction with the decision it records:
//   clients      id, SHA-256 of the secret, revoked, registered samples
//   rounds       the plan of each opened round (selection, activity, RNG state after selecting, open
//                time) and, once closed, its report
//   uploads      every upload the round rules decided on: accepted or the rejecting rule, with the
//                update bytes while the round is open (replayed after a crash; cleared at closing)
//   checkpoints  the server after each closed round (model, optimizer moments, DP state + ledger),
//                written in the same transaction as the round's closing
//   evaluations  federated evaluation reports
//   secagg       with secure aggregation, the open round's SecAgg+ coordinator: its plain-data state
//                (keys, share ciphertexts in flight, unmask answers), the running sum of the masked
//                vectors and when its stage began; written with each decision, deleted at closing
// The database is the truth: the process holds nothing a restart cannot rebuild from it.
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { invalidArgument } from '../../errors.js';
import type { RoundReport, ServerSnapshot } from '../server.js';
import type { Selection } from '../selection.js';

type Value = number | bigint | string | Uint8Array | null;
type Row = Record<string, Value>;
interface Database {
  exec(sql: string): void;
  run(sql: string, values?: Value[]): { changes: number };
  all(sql: string, values?: Value[]): Row[];
  get(sql: string, values?: Value[]): Row | null;
  close(): void;
  readonly isOpen: boolean;
  readonly inTransaction: boolean;
}

const require = createRequire(import.meta.url);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clients (
  id INTEGER PRIMARY KEY, secret_hash BLOB NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
  samples INTEGER, agent TEXT);
CREATE TABLE IF NOT EXISTS rounds (
  round INTEGER PRIMARY KEY, plan TEXT NOT NULL, opened_at REAL NOT NULL, closed_at REAL, report TEXT);
CREATE TABLE IF NOT EXISTS uploads (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, round INTEGER NOT NULL, client INTEGER NOT NULL,
  samples INTEGER NOT NULL, at REAL NOT NULL, outcome TEXT NOT NULL, bytes BLOB, UNIQUE (round, client));
CREATE TABLE IF NOT EXISTS checkpoints (round INTEGER PRIMARY KEY, snapshot TEXT NOT NULL, params BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
  round INTEGER NOT NULL, client INTEGER NOT NULL, samples INTEGER NOT NULL, metrics TEXT NOT NULL,
  PRIMARY KEY (round, client));
CREATE TABLE IF NOT EXISTS secagg (round INTEGER PRIMARY KEY, state TEXT NOT NULL, stage_at REAL NOT NULL, sum BLOB);
`;

/** Checkpoints kept: the latest and the one before (older models are not needed to resume). */
const CHECKPOINTS_KEPT = 2;
/** A lock directory older than this was left by a process that died mid-transaction. */
const STALE_LOCK_MS = 30_000;

export interface StoredPlan {
  selection: Selection;
  activity: number[];
  /** The selection RNG's state after this round's draw (a seeded selection resumes from it). */
  rng: number[];
  evaluate: boolean;
}

export interface OpenRound {
  round: number;
  plan: StoredPlan;
  openedAt: number;
}

export interface StoredUpload {
  client: number;
  samples: number;
  at: number;
  outcome: string;
  bytes: Uint8Array | null;
}

/** The stored SecAgg+ state of an open round (secagg-routes.ts). */
export interface StoredSecAgg {
  state: string;
  stageAt: number;
  /** The running sum of the masked vectors (null before the first one). */
  sum: Uint32Array | null;
}

export interface ClientRow {
  id: number;
  hash: Uint8Array;
  revoked: boolean;
  samples: number | null;
}

// Typed arrays inside JSON (optimizer moments): base64 of their bytes, tagged with the kind.
function encodeArrays(_key: string, value: unknown): unknown {
  if (value instanceof Float32Array)
    return { $f32: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (value instanceof Float64Array)
    return { $f64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  return value;
}
function decodeArrays(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null) {
    const v = value as { $f32?: string; $f64?: string };
    if (typeof v.$f32 === 'string') return new Float32Array(new Uint8Array(Buffer.from(v.$f32, 'base64')).buffer);
    if (typeof v.$f64 === 'string') return new Float64Array(new Uint8Array(Buffer.from(v.$f64, 'base64')).buffer);
  }
  return value;
}

/** The bytes of a float32 array (a copy, aligned). */
function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

export class FlStore {
  readonly #db: Database;
  #depth = 0;

  /**
   * Opens (creating) the database. fingerprint: the round rules of the config; a database made
   * under other rules (another model dimension, population, DP setting...) is refused, since its
   * checkpoints would be restored into a server they do not fit.
   */
  constructor(
    readonly path: string,
    fingerprint?: string,
  ) {
    if (path !== ':memory:') removeStaleLock(path);
    const { Database } = require('node-sqlite3-wasm') as { Database: new (file: string) => Database };
    this.#db = new Database(path);
    try {
      // secure_delete: cleared update bytes are overwritten on disk, not left in free pages.
      this.#db.exec('PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON;');
      this.#retry(() => this.#db.exec(SCHEMA));
      if (fingerprint !== undefined) this.#checkFingerprint(fingerprint);
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  #checkFingerprint(fingerprint: string): void {
    const row = this.#get("SELECT value FROM meta WHERE key = 'config'");
    if (row === null) {
      this.#retry(() => this.#run("INSERT INTO meta (key, value) VALUES ('config', ?)", [fingerprint]));
    } else if (row.value !== fingerprint) {
      throw invalidArgument(
        'config',
        `the round rules this database was created with (${String(row.value)})`,
        fingerprint,
      );
    }
  }

  /**
   * Runs a statement, retrying while another process (`dpfl serve token` beside a running server)
   * holds the database lock: the WASM VFS locks with a lock directory and has no busy handler.
   */
  #retry<T>(write: () => T): T {
    const until = Date.now() + 5000;
    for (;;) {
      try {
        return write();
      } catch (error) {
        if (!/locked|busy/i.test(String((error as Error).message)) || Date.now() > until) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // a short synchronous pause
      }
    }
  }

  #get(sql: string, values?: Value[]): Row | null {
    return this.#retry(() => this.#db.get(sql, values));
  }
  #all(sql: string, values?: Value[]): Row[] {
    return this.#retry(() => this.#db.all(sql, values));
  }
  #run(sql: string, values?: Value[]): { changes: number } {
    return this.#retry(() => this.#db.run(sql, values));
  }

  /** Runs fn in one transaction (all or nothing, durable when it returns). */
  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) return fn(); // nested: part of the enclosing transaction
    return this.#retry(() => {
      this.#db.exec('BEGIN IMMEDIATE');
      this.#depth += 1;
      try {
        const out = fn();
        this.#db.exec('COMMIT');
        return out;
      } catch (error) {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        throw error;
      } finally {
        this.#depth -= 1;
      }
    });
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  // --- clients -------------------------------------------------------------------------------

  client(id: number): ClientRow | undefined {
    const r = this.#get('SELECT id, secret_hash, revoked, samples FROM clients WHERE id = ?', [id]);
    if (r === null) return undefined;
    return { id, hash: r.secret_hash as Uint8Array, revoked: r.revoked !== 0, samples: r.samples as number | null };
  }

  /** Issues (or re-issues: the old secret stops working) a client's secret hash. */
  setSecret(id: number, hash: Uint8Array): void {
    this.transaction(() =>
      this.#run(
        'INSERT INTO clients (id, secret_hash, revoked) VALUES (?, ?, 0) ' +
          'ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, revoked = 0',
        [id, hash],
      ),
    );
  }

  /** Revokes a client's token; false when it had none. */
  revoke(id: number): boolean {
    return this.transaction(() => this.#run('UPDATE clients SET revoked = 1 WHERE id = ?', [id]).changes > 0);
  }

  register(id: number, samples: number, agent: string | undefined): void {
    this.transaction(() =>
      this.#run('UPDATE clients SET samples = ?, agent = ? WHERE id = ?', [samples, agent ?? null, id]),
    );
  }

  /** Registered sample counts of the clients that registered (and are not revoked). */
  /** How many clients registered (and are not revoked): one count in SQLite, not every row. */
  registeredCount(): number {
    const r = this.#get('SELECT COUNT(*) AS n FROM clients WHERE samples IS NOT NULL AND revoked = 0', []);
    return r === null ? 0 : (r.n as number);
  }

  registered(): Map<number, number> {
    const rows = this.#all('SELECT id, samples FROM clients WHERE samples IS NOT NULL AND revoked = 0');
    return new Map(rows.map((r) => [r.id as number, r.samples as number]));
  }

  // --- rounds --------------------------------------------------------------------------------

  openRound(round: number, plan: StoredPlan, openedAt: number): void {
    this.transaction(() =>
      this.#run('INSERT INTO rounds (round, plan, opened_at) VALUES (?, ?, ?)', [
        round,
        JSON.stringify(plan),
        openedAt,
      ]),
    );
  }

  /** The round that was open when the process stopped, if any. */
  openedRound(): OpenRound | undefined {
    const r = this.#get(
      'SELECT round, plan, opened_at FROM rounds WHERE closed_at IS NULL ORDER BY round DESC LIMIT 1',
    );
    if (r === null) return undefined;
    return {
      round: r.round as number,
      plan: JSON.parse(r.plan as string) as StoredPlan,
      openedAt: r.opened_at as number,
    };
  }

  /** The stored plan of a round (open or closed). */
  plan(round: number): StoredPlan | undefined {
    const r = this.#get('SELECT plan FROM rounds WHERE round = ?', [round]);
    return r === null ? undefined : (JSON.parse(r.plan as string) as StoredPlan);
  }

  /** Records the rules' decision on one upload (accepted: the bytes are kept until the round closes). */
  recordUpload(round: number, u: StoredUpload): void {
    this.transaction(() =>
      this.#run('INSERT INTO uploads (round, client, samples, at, outcome, bytes) VALUES (?, ?, ?, ?, ?, ?)', [
        round,
        u.client,
        u.samples,
        u.at,
        u.outcome,
        u.bytes,
      ]),
    );
  }

  hasUpload(round: number, client: number): boolean {
    return this.#get('SELECT 1 AS x FROM uploads WHERE round = ? AND client = ?', [round, client]) !== null;
  }

  /** The uploads of a round in arrival order. */
  uploads(round: number): StoredUpload[] {
    return this.#db
      .all('SELECT client, samples, at, outcome, bytes FROM uploads WHERE round = ? ORDER BY seq', [round])
      .map((r) => ({
        client: r.client as number,
        samples: r.samples as number,
        at: r.at as number,
        outcome: r.outcome as string,
        bytes: r.bytes as Uint8Array | null,
      }));
  }

  /**
   * Closes a round: its report, the checkpoint of the server after it, and the clearing of its
   * update bytes, in one transaction — the privacy spent and the model it bought are recorded
   * together or not at all.
   */
  closeRound(round: number, report: RoundReport, snapshot: ServerSnapshot, closedAt: number): void {
    const { params, ...rest } = snapshot;
    this.transaction(() => {
      const changed = this.#run('UPDATE rounds SET closed_at = ?, report = ? WHERE round = ? AND closed_at IS NULL', [
        closedAt,
        JSON.stringify(report),
        round,
      ]);
      if (changed.changes !== 1) throw invalidArgument('round', 'open in the database', round);
      this.#run('UPDATE uploads SET bytes = NULL WHERE round = ?', [round]);
      this.#run('DELETE FROM secagg WHERE round = ?', [round]);
      this.#run('INSERT OR REPLACE INTO checkpoints (round, snapshot, params) VALUES (?, ?, ?)', [
        snapshot.round,
        JSON.stringify(rest, encodeArrays),
        f32Bytes(params),
      ]);
      this.#run('DELETE FROM checkpoints WHERE round <= ?', [snapshot.round - CHECKPOINTS_KEPT]);
    });
  }

  /** The latest checkpoint (undefined before the first round closed). */
  checkpoint(): ServerSnapshot | undefined {
    const r = this.#get('SELECT snapshot, params FROM checkpoints ORDER BY round DESC LIMIT 1');
    if (r === null) return undefined;
    const rest = JSON.parse(r.snapshot as string, decodeArrays) as Omit<ServerSnapshot, 'params'>;
    const bytes = r.params as Uint8Array;
    return {
      ...rest,
      params: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
    };
  }

  reports(): RoundReport[] {
    return this.#db
      .all('SELECT report FROM rounds WHERE report IS NOT NULL ORDER BY round')
      .map((r) => JSON.parse(r.report as string) as RoundReport);
  }

  // --- secure aggregation ---------------------------------------------------------------------

  /** Writes the SecAgg+ state of a round (the sum too when given; else the stored one stays). */
  saveSecAgg(round: number, state: string, stageAt: number, sum?: Uint32Array): void {
    this.transaction(() => {
      this.#run(
        'INSERT INTO secagg (round, state, stage_at) VALUES (?, ?, ?) ' +
          'ON CONFLICT (round) DO UPDATE SET state = excluded.state, stage_at = excluded.stage_at',
        [round, state, stageAt],
      );
      if (sum !== undefined)
        this.#run('UPDATE secagg SET sum = ? WHERE round = ?', [
          new Uint8Array(sum.buffer, sum.byteOffset, sum.byteLength),
          round,
        ]);
    });
  }

  secAgg(round: number): StoredSecAgg | undefined {
    const r = this.#get('SELECT state, stage_at, sum FROM secagg WHERE round = ?', [round]);
    if (r === null) return undefined;
    const b = r.sum as Uint8Array | null;
    return {
      state: r.state as string,
      stageAt: r.stage_at as number,
      sum: b === null ? null : new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)),
    };
  }

  // --- evaluations ---------------------------------------------------------------------------

  /** Stores one client's evaluation; false when it already reported for that round. */
  recordEvaluation(round: number, client: number, samples: number, metrics: Record<string, number>): boolean {
    return this.transaction(
      () =>
        this.#run('INSERT OR IGNORE INTO evaluations (round, client, samples, metrics) VALUES (?, ?, ?, ?)', [
          round,
          client,
          samples,
          JSON.stringify(metrics),
        ]).changes === 1,
    );
  }

  evaluations(round: number): { samples: number; metrics: Record<string, number> }[] {
    return this.#db
      .all('SELECT samples, metrics FROM evaluations WHERE round = ? ORDER BY client', [round])
      .map((r) => ({ samples: r.samples as number, metrics: JSON.parse(r.metrics as string) }));
  }

  lastEvaluatedRound(): number | undefined {
    const r = this.#get('SELECT MAX(round) AS r FROM evaluations');
    return r === null || r.r === null ? undefined : (r.r as number);
  }
}

/**
 * The WASM VFS locks a database by creating `<file>.lock` (a directory) for the length of a
 * transaction; a process killed inside one leaves it behind and every later open would be "busy"
 * forever. Transactions here last milliseconds, so a lock directory older than STALE_LOCK_MS is
 * such a leftover (SQLite then rolls the hot journal back when it opens the file).
 */
function removeStaleLock(path: string): void {
  const lock = `${path}.lock`;
  if (!existsSync(lock)) return;
  if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
}

/**
 * One server per database: `<file>.server` holds the running server's pid, created exclusively. A
 * file left by a dead process (kill -9, power cut) is taken over. Returns the release function.
 */
export function acquireServerLock(path: string): () => void {
  if (path === ':memory:') return () => {};
  const file = `${path}.server`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(file, 'utf8'));
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid))
        throw invalidArgument(
          'config.database',
          `a database no other server uses (process ${pid} holds ${file})`,
          path,
        );
      if (pid === process.pid)
        throw invalidArgument('config.database', 'a database no other server of this process uses', path);
      rmSync(file, { force: true }); // left by a process that died
      // So is the VFS's lock directory, if it was inside a transaction when killed: removed now,
      // not after STALE_LOCK_MS, or a server restarted at once would find the database "locked".
      // (A `dpfl serve token` committing at this very moment would lose its lock: issue tokens
      // while a server runs, not while one is being restarted.)
      rmSync(`${path}.lock`, { recursive: true, force: true });
    }
  }
  throw invalidArgument('config.database', `a database whose lock ${file} can be taken`, path);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
