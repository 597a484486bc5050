// The round driver of `dpfl serve`: it owns one FederatedServer (the round rules) and one FlStore
// (the truth on disk) and moves rounds along — begins round r once enough clients registered,
// accepts uploads of the selected clients, ends the round when all of them reported or its
// deadline passed, checkpoints, begins the next. It knows nothing of HTTP: the routes call it and
// it answers with values or HttpErrors.
//
// Crash safety: every decision is written before it is answered (an upload's outcome in one
// transaction; a round's closing, its report and the checkpoint in one transaction). On start the
// last checkpoint is restored and a round that was open is reopened with its stored plan and its
// stored uploads replayed through FederatedServer.submit in arrival order, so no accepted update
// is lost or counted twice and no privacy is spent twice or forgotten.
//
// With secure aggregation (SecureRounds, implemented by secagg-routes.ts) a round's end is not the
// driver's to decide: the SecAgg+ stages run on their own timers and call closeSecure() once the sum
// is unmasked (or the protocol aborted); only then does the round close, with submitSecureSum.
import { crc32 as zlibCrc32 } from 'node:zlib';
import { invalidArgument, isDpflError } from '../../errors.js';
import { BuiltinModel } from '../builtin-model.js';
import { crc32 as jsCrc32, decodeFrame, FRAME_HEADER_BYTES, type Frame } from '../client/wire.js';
import { PROTOCOL_VERSION, type StatusResponse, type Task } from '../client/protocol.js';
import { FederatedServer, type RoundPlan, type RoundReport, type ServerOptions } from '../server.js';
import { dpNoiseSeed, type ResolvedConfig } from './config.js';
import { checkEvaluation, summarise, type EvaluationSummary } from './evaluation.js';
import { httpError } from './http.js';
import { acquireServerLock, FlStore } from './store.js';

/** zlib's CRC-32 (Node >= 20.15, native) where it exists: the same IEEE polynomial as wire.ts's. */
export const crc32: (bytes: Uint8Array) => number =
  typeof zlibCrc32 === 'function' ? (b) => zlibCrc32(b) >>> 0 : jsCrc32;

/** What the round driver needs of secure aggregation (secagg-routes.ts implements it). */
export interface SecureRounds {
  /** A round opened: set up its SecAgg+ state and persist it (inside the transaction opening the round). */
  open(plan: RoundPlan, openedAt: number): void;
  /** A round reopened after a restart: restore its SecAgg+ state from the store. */
  resume(plan: RoundPlan): void;
  /** Arms the stage timers, or closes the stages that are due (the driver runs). */
  arm(): void;
  /** Stops the stage timers (the driver stopped; nothing is written). */
  stop(): void;
  /** Seconds an idle client waits before asking for a task again (shorter than an advertise stage). */
  readonly idlePoll: number;
  /** Whether a selected client may start the open round now. */
  admits(client: number): boolean;
  /** A masked vector of an admitted upload: added to the sum and recorded, or an HttpError. */
  masked(client: number, round: number, payload: Uint32Array): void;
}

/** How a secure round ended: the unmasked sum of the survivors' clipped updates, or nothing (aborted). */
export type SecureOutcome = { clients: number[]; sum: Float32Array; clipNorm: number } | undefined;

export type FlEvent =
  | { type: 'listening'; url: string }
  | { type: 'registered'; client: number; samples: number; registered: number }
  | { type: 'waiting'; registered: number; needed: number }
  | { type: 'roundOpened'; round: number; selected: number; deadline: number; resumed: boolean; replayed: number }
  | { type: 'upload'; round: number; client: number; outcome: string }
  | { type: 'roundClosed'; round: number; report: RoundReport; evaluation?: EvaluationSummary }
  | { type: 'finished'; rounds: number; reason: 'rounds' | 'budget' }
  /** A secure round's stage began (clients: those in it), or the protocol ended ('done', 'aborted'). */
  | {
      type: 'secureStage';
      round: number;
      stage: 'advertise' | 'share' | 'mask' | 'unmask' | 'done' | 'aborted';
      clients: number;
      reason?: string;
    }
  | { type: 'error'; message: string; fatal: boolean };

interface Open {
  plan: RoundPlan;
  openedAt: number;
  evaluate: boolean;
  selected: Set<number>;
  /** Clients whose upload the rules decided on (accepted or rejected): one report per round. */
  reported: Set<number>;
  /** Clients whose upload is being received: a concurrent second one is a duplicate. */
  receiving: Set<number>;
  model: Uint8Array;
  modelCrc: number;
}

const now = () => Date.now() / 1000;

/** A database whose state does not replay (edited, or written by another version). */
const badDatabase = (what: string) =>
  invalidArgument('database', 'a state that replays consistently', what, 'ERR_DPFL_BAD_CHECKPOINT');

/** The round rules of the config: what a database's checkpoints depend on (its fingerprint). */
export function fingerprint(config: ResolvedConfig, dim: number): string {
  const { clients, selection, aggregation, trim, byzantine, estimator, normBound, optimizer, optimizerOptions, dp } =
    config;
  return JSON.stringify({
    dim,
    population: clients.population,
    selection,
    aggregation,
    trim,
    byzantine,
    estimator,
    normBound,
    optimizer,
    optimizerOptions,
    dp,
    secureAggregation: config.secureAggregation
      ? {
          clipNorm: config.secureAggregation.clipNorm ?? (config.dp ? undefined : config.normBound),
          neighbours: config.secureAggregation.neighbours,
          threshold: config.secureAggregation.threshold,
        }
      : undefined,
  });
}

/** The initial global model of the config. */
export function initialParams(config: ResolvedConfig): Float32Array {
  const m = config.model;
  if ('dim' in m) return new Float32Array(m.dim);
  const { initSeed, ...spec } = m;
  return new BuiltinModel(spec, initSeed ?? 0).init();
}

/** Runs a constructor that checks part of the config; its typed error says it is about the config. */
function inConfig<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (isDpflError(error)) error.message = `config: ${error.message}`;
    throw error;
  }
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export class Coordinator {
  readonly server: FederatedServer;
  readonly store: FlStore;
  readonly dim: number;
  #state: 'waiting' | 'open' | 'closing' | 'finished' | 'failed' = 'waiting';
  #open: Open | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #finalModel: { bytes: Uint8Array; crc: number } | undefined;
  readonly #unlock: () => void;
  readonly #secure: SecureRounds | undefined;

  /** secure: builds the secure-aggregation stages over this driver (every round then runs them). */
  constructor(
    readonly config: ResolvedConfig,
    readonly emit: (event: FlEvent) => void = () => {},
    secure?: (coordinator: Coordinator) => SecureRounds,
  ) {
    const params = inConfig(() => initialParams(config));
    this.dim = params.length;
    const reported = config.clients.activity === 'reported';
    const activity = reported
      ? new Array<number>(config.clients.population).fill(0)
      : (config.clients.activity as number[]);
    const dp = config.dp ? defined({ ...config.dp, noiseSeed: dpNoiseSeed(config.dp.noiseSeed) }) : undefined;
    const options: ServerOptions = defined({
      params,
      activity,
      selection: config.selection,
      estimator: config.estimator,
      aggregation: config.aggregation,
      trim: config.trim,
      byzantine: config.byzantine,
      normBound: config.normBound,
      optimizer: config.optimizer,
      optimizerOptions: config.optimizerOptions,
      minReports: config.minReports,
      deadline: config.roundSeconds,
      dp,
      // 'reported': the cap is the registered count (itself capped by maxSamples when activity is set).
      maxSamples: reported ? 'activity' : (config.clients.maxSamples ?? 'activity'),
      statistics: config.statistics,
      seed: config.seed,
    });
    this.server = inConfig(() => new FederatedServer(options));
    this.#unlock = acquireServerLock(config.database);
    try {
      this.store = new FlStore(config.database, fingerprint(config, this.dim));
    } catch (error) {
      this.#unlock();
      throw error;
    }
    try {
      this.#secure = secure?.(this);
      this.#restore();
    } catch (error) {
      this.store.close();
      this.#unlock();
      throw error;
    }
  }

  get state(): string {
    return this.#state;
  }

  /** Restores the last checkpoint and reopens (replays) a round that was open. */
  #restore(): void {
    const checkpoint = this.store.checkpoint();
    if (checkpoint) this.server.restore(checkpoint);
    const open = this.store.openedRound();
    if (open) {
      if (open.round !== this.server.round)
        throw badDatabase(`round ${open.round} open with the checkpoint at round ${this.server.round}`);
      this.server.restore({ ...this.server.snapshot(), activity: open.plan.activity, rng: open.plan.rng });
      const plan = this.server.beginRound(open.openedAt, open.plan.selection);
      const o = this.#track(plan, open.openedAt, open.plan.evaluate);
      this.#secure?.resume(plan);
      const uploads = this.store.uploads(open.round);
      for (const u of uploads) {
        const update = u.bytes
          ? new Float32Array(u.bytes.buffer.slice(u.bytes.byteOffset, u.bytes.byteOffset + u.bytes.byteLength))
          : new Float32Array(0);
        const outcome = this.server.submit({ client: u.client, round: open.round, update, samples: u.samples }, u.at);
        if (outcome !== u.outcome)
          throw badDatabase(
            `round ${open.round}: client ${u.client}'s upload replays as ${outcome}, stored ${u.outcome}`,
          );
        o.reported.add(u.client);
      }
      this.#resumed = uploads.length;
    } else if (this.server.round >= this.config.rounds) {
      this.#state = 'finished';
    }
  }

  #resumed: number | undefined;

  /** Starts driving rounds (after the transport listens). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#state === 'finished') {
      this.emit({ type: 'finished', rounds: this.server.round, reason: 'rounds' });
    } else if (this.#open) {
      const o = this.#open;
      this.emit({
        type: 'roundOpened',
        round: o.plan.round,
        selected: o.selected.size,
        deadline: this.#deadlineMs(o),
        resumed: true,
        replayed: this.#resumed ?? 0,
      });
      this.#armOrClose();
    } else {
      this.#begin();
    }
  }

  /** Stops the timers. Writes nothing: every decision is already on disk. */
  stop(): void {
    this.#running = false;
    this.#secure?.stop();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Stops and releases the database (and its one-server lock). */
  close(): void {
    this.stop();
    this.store.close();
    this.#unlock();
  }

  #deadlineMs(o: Open): number {
    return Math.round((o.openedAt + this.config.roundSeconds) * 1000);
  }

  #track(plan: RoundPlan, openedAt: number, evaluate: boolean): Open {
    const model = new Uint8Array(
      plan.params.buffer.slice(plan.params.byteOffset, plan.params.byteOffset + plan.params.byteLength),
    );
    this.#open = {
      plan: { ...plan, clients: [...plan.clients] },
      openedAt,
      evaluate,
      selected: new Set(plan.clients),
      reported: new Set(),
      receiving: new Set(),
      model,
      modelCrc: crc32(model),
    };
    this.#state = 'open';
    return this.#open;
  }

  #activity(): number[] {
    const cap = this.config.clients.maxSamples ?? Number.POSITIVE_INFINITY;
    const activity = new Array<number>(this.config.clients.population).fill(0);
    for (const [k, n] of this.store.registered()) if (k < activity.length) activity[k] = Math.min(n, cap);
    return activity;
  }

  /** Stops after an internal error (a decision memory took but the disk did not). */
  fail(error: unknown): void {
    this.#fail(error);
  }

  #fail(error: unknown): void {
    this.#state = 'failed';
    this.stop();
    this.emit({ type: 'error', message: `stopped: ${(error as Error)?.message ?? String(error)}`, fatal: true });
  }

  #begin(): void {
    if (!this.#running || this.#state !== 'waiting') return;
    if (this.server.round >= this.config.rounds) {
      this.#finish('rounds');
      return;
    }
    const registered = this.store.registeredCount();
    if (registered < this.config.minClients) {
      this.emit({ type: 'waiting', registered, needed: this.config.minClients });
      return;
    }
    if (this.config.clients.activity === 'reported') this.server.setActivity(this.#activity());
    const openedAt = now();
    let plan: RoundPlan;
    try {
      plan = this.server.beginRound(openedAt);
    } catch (error) {
      if (isDpflError(error, 'ERR_DPFL_BUDGET_EXCEEDED')) this.#finish('budget');
      else
        this.emit({
          type: 'error',
          message: `round ${this.server.round} not begun: ${(error as Error).message}`,
          fatal: false,
        });
      return;
    }
    const evaluate = this.config.evaluateEvery > 0 && plan.round % this.config.evaluateEvery === 0;
    const snap = this.server.snapshot(); // the RNG after this round's draw, the activity it used
    try {
      this.store.transaction(() => {
        this.store.openRound(
          plan.round,
          { selection: plan.selection, activity: snap.activity, rng: snap.rng, evaluate },
          openedAt,
        );
        this.#secure?.open(plan, openedAt);
      });
    } catch (error) {
      this.#fail(error);
      return;
    }
    const o = this.#track(plan, openedAt, evaluate);
    this.emit({
      type: 'roundOpened',
      round: plan.round,
      selected: o.selected.size,
      deadline: this.#deadlineMs(o),
      resumed: false,
      replayed: 0,
    });
    this.#armOrClose();
  }

  /** Closes the round now if everyone reported or the deadline passed, else arms the deadline timer. */
  #armOrClose(): void {
    const o = this.#open;
    if (!o || !this.#running) return;
    if (this.#secure) {
      this.#secure.arm(); // the SecAgg+ stages end the round (closeSecure)
      return;
    }
    const left = this.#deadlineMs(o) - Date.now();
    if (o.reported.size >= o.selected.size || left <= 0) {
      void this.#close();
    } else {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#close(), left);
    }
  }

  /** Ends a secure round with its unmasked sum (or nothing, when SecAgg+ aborted). */
  closeSecure(round: number, outcome: SecureOutcome): void {
    const o = this.#open;
    if (!o || o.plan.round !== round || this.#state !== 'open' || !this.#running) return;
    void this.#close(outcome);
  }

  async #close(secure?: SecureOutcome): Promise<void> {
    const o = this.#open;
    if (this.#state !== 'open' || !o) return;
    this.#state = 'closing';
    clearTimeout(this.#timer);
    try {
      if (secure) this.server.submitSecureSum(secure);
      const report = await this.server.endRound();
      if (!this.#running) return; // closed meanwhile: nothing written, the round reopens on restart
      this.store.closeRound(o.plan.round, report, this.server.snapshot(), now());
      this.#open = undefined;
      const evaluation = o.evaluate ? summarise(o.plan.round, this.store.evaluations(o.plan.round)) : undefined;
      this.emit({ type: 'roundClosed', round: o.plan.round, report, ...(evaluation ? { evaluation } : {}) });
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#state = 'waiting';
    this.#begin();
  }

  #finish(reason: 'rounds' | 'budget'): void {
    this.#state = 'finished';
    this.emit({ type: 'finished', rounds: this.server.round, reason });
  }

  #available(): void {
    if (this.#state === 'failed') throw httpError(503, 'unavailable', 'the server stopped after an internal error');
  }

  // --- what the routes call ------------------------------------------------------------------

  register(client: number, samples: number, agent: string | undefined): void {
    this.#available();
    this.store.register(client, samples, agent);
    const registered = this.store.registeredCount();
    this.emit({ type: 'registered', client, samples, registered });
    if (this.#state === 'waiting') this.#begin();
  }

  /** The task of a client: a Task, 'wait' (seconds to wait) or a 410 when the federation finished. */
  task(client: number): Task | { retryAfter: number } {
    this.#available();
    if (this.#state === 'finished')
      throw httpError(410, 'finished', `the federation finished after ${this.server.round} rounds`);
    const o = this.#open;
    if (this.store.client(client)?.samples == null)
      throw httpError(403, 'forbidden', 'register first (POST /v1/register)');
    if (
      !o ||
      this.#state !== 'open' ||
      !o.selected.has(client) ||
      o.reported.has(client) ||
      (this.#secure && !this.#secure.admits(client))
    ) {
      // Never past the open round's deadline, and no longer than pollSeconds: a round that closes
      // early (everyone reported) opens the next at once.
      const left = o ? (this.#deadlineMs(o) - Date.now()) / 1000 : Infinity;
      const wait = Math.max(0.05, Math.min(this.config.pollSeconds, left));
      // A secure round is joined only in its advertise stage: idle clients must ask often enough.
      return { retryAfter: this.#secure ? Math.min(wait, this.#secure.idlePoll) : wait };
    }
    return { round: o.plan.round, deadline: this.#deadlineMs(o), training: this.config.training, evaluate: o.evaluate };
  }

  /** The global model of a round (float32 little-endian) and its CRC-32. */
  model(round: number): { bytes: Uint8Array; crc: number } {
    this.#available();
    const o = this.#open;
    if (o && round === o.plan.round) return { bytes: o.model, crc: o.modelCrc };
    if (this.#state === 'finished' && round === this.server.round) {
      if (!this.#finalModel) {
        const p = this.server.params;
        const bytes = new Uint8Array(p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength));
        this.#finalModel = { bytes, crc: crc32(bytes) };
      }
      return this.#finalModel;
    }
    if (round < this.server.round || (o && round < o.plan.round))
      throw httpError(410, 'late', `round ${round} is over`, 'late');
    throw httpError(404, 'notFound', `round ${round} has not begun`);
  }

  /** Checks that a client may upload for a round before its body is read (403, 409, 410). */
  admitUpload(client: number, round: number): number {
    this.#available();
    if (this.#state === 'finished') throw httpError(410, 'late', 'the federation finished', 'late');
    const o = this.#open;
    const current = o ? o.plan.round : this.server.round;
    if (round < current || (o && round === current && this.#state !== 'open'))
      throw httpError(410, 'late', `round ${round} is closed`, 'late');
    if (!o || round > current) throw httpError(409, 'conflict', `round ${round} is not open`);
    if (!o.selected.has(client))
      throw httpError(403, 'notSelected', `client ${client} is not selected in round ${round}`);
    if (o.reported.has(client) || o.receiving.has(client) || this.store.hasUpload(round, client))
      throw httpError(409, 'duplicate', `client ${client} already uploaded for round ${round}`);
    o.receiving.add(client);
    return FRAME_HEADER_BYTES + 4 * this.dim;
  }

  /** Forgets an admitted upload whose body never arrived whole (the client may retry). */
  abandonUpload(client: number): void {
    this.#open?.receiving.delete(client);
  }

  /** Decides on an admitted upload's frame, records the decision, answers its round or throws. */
  upload(client: number, round: number, bytes: Uint8Array): { round: number } {
    const o = this.#open;
    try {
      const frame = decodeFrame(bytes, this.dim, crc32);
      if ('error' in frame)
        throw httpError(400, 'badFrame', `the upload frame is malformed (${frame.error})`, frame.error);
      if (this.#secure && frame.kind !== 'masked')
        throw httpError(400, 'badFrame', 'this round runs secure aggregation: upload the masked vector', 'kind');
      if (!this.#secure && frame.kind !== 'float32')
        throw httpError(
          400,
          'badFrame',
          'masked uploads need secure aggregation, which this round does not run',
          'kind',
        );
      if (frame.round !== round)
        throw httpError(400, 'badFrame', `the frame is for round ${frame.round}, not ${round}`, 'round');
      if (!o || o !== this.#open || this.#state !== 'open' || o.plan.round !== round)
        throw httpError(410, 'late', `round ${round} closed while the upload arrived`, 'late');
      if (this.#secure) {
        this.#secure.masked(client, round, frame.payload as Uint32Array);
        o.reported.add(client);
        this.emit({ type: 'upload', round, client, outcome: 'masked' });
        return { round };
      }
      return this.#decide(o, client, frame);
    } finally {
      o?.receiving.delete(client);
    }
  }

  #decide(o: Open, client: number, frame: Frame): { round: number } {
    const at = now();
    const update = frame.payload as Float32Array;
    const outcome = this.server.submit({ client, round: frame.round, update, samples: frame.samples }, at);
    const bytes = new Uint8Array(update.buffer, update.byteOffset, update.byteLength);
    try {
      this.store.recordUpload(frame.round, { client, samples: frame.samples, at, outcome, bytes });
    } catch (error) {
      // The rules took the upload but the disk did not: memory and the database disagree. Stop;
      // a restart replays the database, which is the truth (the client got no answer and retries).
      this.#fail(error);
      throw httpError(503, 'unavailable', 'the upload could not be recorded');
    }
    o.reported.add(client);
    this.emit({ type: 'upload', round: frame.round, client, outcome });
    this.#armOrClose();
    if (outcome === 'late')
      throw httpError(410, 'late', `the upload arrived after round ${frame.round}'s deadline`, 'late');
    if (outcome !== 'accepted') throw httpError(422, 'rejected', `the update was refused (${outcome})`, outcome);
    return { round: frame.round };
  }

  evaluate(client: number, body: Record<string, unknown>): void {
    this.#available();
    const registered = this.store.client(client)?.samples ?? 0;
    const report = checkEvaluation(body, registered);
    const current = this.#open ? this.#open.plan.round : this.server.round;
    const plan = report.round <= current ? this.store.plan(report.round) : undefined;
    if (!plan) throw httpError(404, 'notFound', `round ${report.round} has not begun`);
    if (!plan.evaluate || !plan.selection.clients.includes(client))
      throw httpError(403, 'notSelected', `client ${client} was not asked to evaluate round ${report.round}`);
    if (!this.store.recordEvaluation(report.round, client, report.samples, report.metrics))
      throw httpError(409, 'duplicate', `client ${client} already evaluated round ${report.round}`);
  }

  status(): StatusResponse {
    const dp = this.server.dp;
    const last = this.store.lastEvaluatedRound();
    return {
      protocol: PROTOCOL_VERSION,
      round: this.#open ? this.#open.plan.round : this.server.round,
      open: this.#state === 'open',
      roundsDone: this.#open ? this.#open.plan.round : this.server.round,
      roundsTotal: this.config.rounds,
      registered: this.store.registeredCount(),
      history: this.store.reports() as unknown as Record<string, unknown>[],
      ...(last !== undefined ? { evaluation: summarise(last, this.store.evaluations(last)) } : {}),
      ...(dp ? { epsilon: dp.accountant.epsilon(dp.delta), delta: dp.delta } : {}),
    };
  }
}
