// Secure aggregation on the wire: every round of the server runs SecAgg+ (secagg-coordinator.ts)
// over HTTP. One SecAggCoordinator per round; its four stages under /v1/secagg/* (protocol.ts):
//
//   POST /v1/secagg/advertise          AdvertiseKeys → 204
//   GET  /v1/secagg/roster?round=r     Roster (204 + Retry-After while the advertise stage is open)
//   POST /v1/secagg/shares             ShareKeys → 204
//   GET  /v1/secagg/inbox?round=r      ShareInbox (204 + Retry-After while the share stage is open)
//   POST /v1/update?round=r            the masked vector, frame kind 'masked' (coordinator.ts → masked())
//   GET  /v1/secagg/unmask?round=r     UnmaskRequest (204 + Retry-After while the mask stage is open)
//   POST /v1/secagg/unmask             UnmaskResponse → 204
//
// A stage closes when every client still in the round answered or its stage deadline passed
// (config.secureAggregation.stageSeconds); a client that missed a stage is dropped from the later
// ones (410 late, reason 'dropped'). After the unmask stage the coordinator reconstructs the sum
// and the round driver closes the round with FederatedServer.submitSecureSum. A round whose
// protocol aborts (fewer than t surviving holders of a needed secret, fewer than 3 participants)
// releases no sum: the driver closes it with no report (DP-FedAvg still releases noise, accounted).
//
// Every accepted message is written (the coordinator's toJSON state, and the running sum with a
// masked vector) in one transaction before it is answered, so a restarted server resumes the stage
// where it was. The database never holds an update in the clear: only masked vectors' sum.
import { invalidArgument } from '../../errors.js';
import { SecAggError } from '../client/secagg/errors.js';
import type { RoundPlan } from '../server.js';
import type { ResolvedSecureAggregation } from './config.js';
import type { Coordinator, SecureOutcome, SecureRounds } from './coordinator.js';
import {
  HttpError,
  httpError,
  parseJsonObject,
  readBody,
  sendEmpty,
  sendError,
  sendJson,
  type Request,
  type Response,
} from './http.js';
import type { SecureAggregationRoutes } from './routes.js';
import { SecAggCoordinator, type SecAggCoordinatorState } from './secagg-coordinator.js';

type Stage = 'advertise' | 'share' | 'mask' | 'unmask';

interface Session {
  round: number;
  clipNorm: number;
  /** Undefined: the round cannot run SecAgg+ (fewer than 3 participants): it closes with nothing. */
  sac: SecAggCoordinator | undefined;
  /** Unix seconds the current stage began. */
  stageAt: number;
  closing: boolean;
  ended: boolean;
}

const now = () => Date.now() / 1000;

/** A protocol refusal of the engine as an HTTP answer. */
function refusal(e: SecAggError): HttpError {
  if (e.reason === 'stage') return httpError(409, 'conflict', e.message, 'stage');
  return httpError(400, 'badRequest', e.message, e.reason);
}

const dropped = (round: number, client: number) =>
  httpError(410, 'late', `client ${client} is no longer part of round ${round}'s secure aggregation`, 'dropped');

export class SecureAggregation implements SecureAggregationRoutes, SecureRounds {
  #session: Session | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(
    readonly coordinator: Coordinator,
    readonly options: ResolvedSecureAggregation,
  ) {}

  // --- the round driver's side (SecureRounds) ----------------------------------------------------

  get idlePoll(): number {
    return Math.max(this.options.pollSeconds, this.options.stageSeconds.advertise / 4);
  }

  /** The L2 norm clients clip to this round: DP-FedAvg's S, else the configured bound. */
  #clipNorm(): number {
    const dp = this.coordinator.server.dp;
    if (dp) return dp.clipNorm;
    const c = this.options.clipNorm ?? this.coordinator.config.normBound;
    if (c === undefined) throw invalidArgument('config.secureAggregation.clipNorm', 'given without DP', c);
    return c;
  }

  open(plan: RoundPlan, openedAt: number): void {
    clearTimeout(this.#timer);
    const clipNorm = this.#clipNorm();
    let sac: SecAggCoordinator | undefined;
    if (plan.clients.length >= 3) {
      const { dropout, corrupt, securityBits, correctnessBits, neighbours, threshold } = this.options;
      const defined = Object.fromEntries(
        Object.entries({ dropout, corrupt, securityBits, correctnessBits }).filter(([, v]) => v !== undefined),
      );
      const k = neighbours === undefined ? {} : { neighbours: Math.min(neighbours, plan.clients.length - 1) };
      const t = threshold === undefined ? {} : { threshold: Math.min(threshold, k.neighbours ?? threshold) };
      sac = new SecAggCoordinator({
        round: plan.round,
        clients: [...plan.clients],
        dim: this.coordinator.dim,
        clipNorm,
        ...defined,
        ...k,
        ...t,
      });
    }
    this.#session = { round: plan.round, clipNorm, sac, stageAt: openedAt, closing: false, ended: false };
    if (sac) this.#persist(this.#session, sac.toJSON());
  }

  resume(plan: RoundPlan): void {
    const row = this.coordinator.store.secAgg(plan.round);
    let sac: SecAggCoordinator | undefined;
    let stageAt = now();
    if (row) {
      const state = JSON.parse(row.state) as SecAggCoordinatorState;
      sac = SecAggCoordinator.fromJSON(state, row.sum ?? new Uint32Array(state.dim));
      stageAt = row.stageAt;
    }
    // No row: the round had too few participants (or lost its state): it closes with nothing.
    this.#session = {
      round: plan.round,
      clipNorm: sac?.clipNorm ?? this.#clipNorm(),
      sac,
      stageAt,
      closing: false,
      ended: false,
    };
  }

  arm(): void {
    this.#running = true;
    const s = this.#session;
    if (!s || s.ended || s.closing) return;
    clearTimeout(this.#timer);
    const sac = s.sac;
    if (!sac || sac.stage === 'done' || sac.stage === 'aborted') {
      void this.#advance(s);
      return;
    }
    const left = (s.stageAt + this.options.stageSeconds[sac.stage as Stage]) * 1000 - Date.now();
    if (pending(sac.toJSON()) <= 0 || left <= 0) void this.#advance(s);
    else this.#timer = setTimeout(() => void this.#advance(s), left);
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  admits(client: number): boolean {
    const sac = this.#session?.sac;
    return sac !== undefined && sac.stage === 'advertise' && sac.graph.has(client);
  }

  /** The Task's secureAggregation parameters for a participant of the open round. */
  taskParameters(round: number, client: number) {
    const s = this.#session;
    if (!s?.sac || s.round !== round || !s.sac.graph.has(client)) return undefined;
    return s.sac.task;
  }

  masked(client: number, round: number, payload: Uint32Array): void {
    const { s, sac } = this.#current(round, client);
    if (sac.stage === 'advertise' || sac.stage === 'share')
      throw httpError(409, 'conflict', `round ${round}'s masking stage has not begun`, 'stage');
    if (sac.stage !== 'mask') throw dropped(round, client);
    const state = sac.toJSON();
    if (!state.u2.includes(client)) throw dropped(round, client);
    try {
      sac.receiveMasked(client, payload);
    } catch (e) {
      if (e instanceof SecAggError) throw refusal(e);
      throw e;
    }
    this.#persist(s, sac.toJSON(), sac.sum);
    this.#afterMessage(s);
  }

  // --- stages -----------------------------------------------------------------------------------

  /** Writes the session (its decision) or stops the server: memory must not run ahead of the disk. */
  #persist(s: Session, state: SecAggCoordinatorState, sum?: Uint32Array): void {
    try {
      this.coordinator.store.saveSecAgg(s.round, JSON.stringify(state), s.stageAt, sum);
    } catch (error) {
      this.coordinator.fail(error);
      throw httpError(503, 'unavailable', 'the secure-aggregation message could not be recorded');
    }
  }

  #afterMessage(s: Session): void {
    if (!this.#running || s.closing || s.ended || !s.sac) return;
    if (pending(s.sac.toJSON()) <= 0) {
      clearTimeout(this.#timer);
      void this.#advance(s);
    }
  }

  /** Closes the current stage (everyone answered, or its deadline passed). */
  async #advance(s: Session): Promise<void> {
    if (s.closing || s.ended || !this.#running || s !== this.#session) return;
    const sac = s.sac;
    if (!sac || sac.stage === 'aborted') return this.#end(s, undefined, 'too few participants');
    s.closing = true;
    let result: SecureOutcome;
    try {
      switch (sac.stage) {
        case 'advertise':
          sac.closeAdvertise();
          break;
        case 'share':
          sac.closeSharing();
          break;
        case 'mask':
          sac.closeMasking();
          break;
        case 'unmask': {
          const r = await sac.finish();
          result = { clients: r.survivors, sum: r.sum, clipNorm: s.clipNorm };
          break;
        }
        default:
          break;
      }
    } catch (error) {
      s.closing = false;
      if (!(error instanceof SecAggError)) {
        this.coordinator.fail(error);
        return;
      }
      try {
        this.coordinator.store.saveSecAgg(s.round, JSON.stringify(sac.toJSON()), now());
      } catch (e) {
        this.coordinator.fail(e);
        return;
      }
      return this.#end(s, undefined, error.message);
    }
    s.closing = false;
    if (result) return this.#end(s, result);
    s.stageAt = now();
    const state = sac.toJSON();
    try {
      this.coordinator.store.saveSecAgg(s.round, JSON.stringify(state), s.stageAt);
    } catch (e) {
      this.coordinator.fail(e);
      return;
    }
    this.coordinator.emit({ type: 'secureStage', round: s.round, stage: sac.stage, clients: stageClients(state) });
    this.arm();
  }

  #end(s: Session, outcome: SecureOutcome, reason?: string): void {
    s.ended = true;
    clearTimeout(this.#timer);
    this.coordinator.emit({
      type: 'secureStage',
      round: s.round,
      stage: outcome ? 'done' : 'aborted',
      clients: outcome ? outcome.clients.length : 0,
      ...(reason !== undefined ? { reason } : {}),
    });
    this.coordinator.closeSecure(s.round, outcome);
  }

  /** The open session of `round` for a participant, or the HttpError a client gets. */
  #current(round: number, client: number): { s: Session; sac: SecAggCoordinator } {
    const s = this.#session;
    const open = this.coordinator.state === 'open' && s !== undefined && !s.ended;
    if (!open || s.round !== round) {
      const current = s?.round ?? this.coordinator.server.round;
      if (round < current || (s && round === current)) throw httpError(410, 'late', `round ${round} is closed`, 'late');
      throw httpError(409, 'conflict', `round ${round} is not open`);
    }
    if (!s.sac) throw httpError(410, 'late', `round ${round} runs no secure aggregation (too few clients)`, 'aborted');
    if (!s.sac.graph.has(client))
      throw httpError(403, 'notSelected', `client ${client} is not selected in round ${round}`);
    return { s, sac: s.sac };
  }

  // --- the routes (SecureAggregationRoutes) -----------------------------------------------------

  async handle(client: number, subpath: string, req: Request, res: Response): Promise<void> {
    let bodyUnread = req.method !== 'GET' && req.method !== 'HEAD';
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const json = async () => {
        const body = parseJsonObject(await readBody(req, this.coordinator.config.limits.maxJsonBytes));
        bodyUnread = false;
        if (body.client !== client)
          throw httpError(
            403,
            'forbidden',
            `the message is from client ${String(body.client)}, the token is ${client}'s`,
          );
        if (!Number.isSafeInteger(body.round)) throw httpError(400, 'badRequest', 'round must be an integer');
        return body;
      };
      const roundParam = () => {
        const raw = url.searchParams.get('round');
        if (raw === null || !/^\d{1,9}$/.test(raw))
          throw httpError(400, 'badRequest', 'round must be given as ?round=<non-negative integer>');
        return Number(raw);
      };
      const wait = () => sendEmpty(res, 204, { 'retry-after': String(this.options.pollSeconds) });
      const engine = <T>(f: () => T): T => {
        try {
          return f();
        } catch (e) {
          if (e instanceof SecAggError) throw refusal(e);
          throw e;
        }
      };
      const route = `${req.method} ${subpath}`;
      switch (route) {
        case 'POST /advertise': {
          const body = await json();
          const { s, sac } = this.#current(body.round as number, client);
          if (sac.stage !== 'advertise') throw dropped(s.round, client);
          engine(() => sac.receiveKeys(body as never));
          this.#persist(s, sac.toJSON());
          sendEmpty(res, 204);
          this.#afterMessage(s);
          return;
        }
        case 'GET /roster': {
          const { s, sac } = this.#current(roundParam(), client);
          if (sac.stage === 'advertise') return wait();
          if (!sac.toJSON().u1.includes(client)) throw dropped(s.round, client);
          sendJson(
            res,
            200,
            engine(() => sac.roster(client)),
          );
          return;
        }
        case 'POST /shares': {
          const body = await json();
          const { s, sac } = this.#current(body.round as number, client);
          if (sac.stage === 'advertise') throw httpError(409, 'conflict', 'the share stage has not begun', 'stage');
          if (sac.stage !== 'share') throw dropped(s.round, client);
          engine(() => sac.receiveShares(body as never));
          this.#persist(s, sac.toJSON());
          sendEmpty(res, 204);
          this.#afterMessage(s);
          return;
        }
        case 'GET /inbox': {
          const { s, sac } = this.#current(roundParam(), client);
          if (sac.stage === 'advertise' || sac.stage === 'share') return wait();
          if (sac.stage !== 'mask' || !sac.toJSON().u2.includes(client)) throw dropped(s.round, client);
          sendJson(
            res,
            200,
            engine(() => sac.inbox(client)),
          );
          return;
        }
        case 'GET /unmask': {
          const { s, sac } = this.#current(roundParam(), client);
          if (sac.stage !== 'unmask' && sac.stage !== 'done' && sac.stage !== 'aborted') return wait();
          if (sac.stage !== 'unmask' || !sac.toJSON().u3.includes(client)) throw dropped(s.round, client);
          sendJson(
            res,
            200,
            engine(() => sac.unmaskRequest(client)),
          );
          return;
        }
        case 'POST /unmask': {
          const body = await json();
          const { s, sac } = this.#current(body.round as number, client);
          if (sac.stage !== 'unmask') throw httpError(409, 'conflict', 'the unmask stage is not open', 'stage');
          engine(() => sac.receiveUnmask(body as never));
          this.#persist(s, sac.toJSON());
          sendEmpty(res, 204);
          this.#afterMessage(s);
          return;
        }
        default:
          if (['/advertise', '/roster', '/shares', '/inbox', '/unmask'].includes(subpath))
            throw httpError(405, 'badRequest', `${req.method} is not allowed on /v1/secagg${subpath}`);
          throw httpError(404, 'notFound', `no route /v1/secagg${subpath}`);
      }
    } catch (error) {
      if (error instanceof HttpError) {
        sendError(req, res, error, bodyUnread);
        return;
      }
      throw error;
    }
  }
}

/** Clients of the current stage that have not answered yet. */
function pending(state: SecAggCoordinatorState): number {
  switch (state.stage) {
    case 'advertise':
      return state.order.length - state.keys.length;
    case 'share':
      return state.u1.length - state.shares.length;
    case 'mask':
      return state.u2.length - state.u3.length;
    case 'unmask':
      return state.u3.length - state.answers.length;
    default:
      return 0;
  }
}

/** Clients taking part in the current stage. */
function stageClients(state: SecAggCoordinatorState): number {
  switch (state.stage) {
    case 'share':
      return state.u1.length;
    case 'mask':
      return state.u2.length;
    case 'unmask':
      return state.u3.length;
    default:
      return state.order.length;
  }
}
