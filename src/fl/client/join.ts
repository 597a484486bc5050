// joinFederation: one client of a networked federation (`dpfl serve`, protocol.ts), in Node or a
// browser. It registers, polls for tasks, and for each round it is selected for downloads the global
// model, trains locally with FederatedClient (the simulation's client: the same update Δ_k), uploads
// the update in the binary frame of wire.ts and, when asked, evaluates the global model on its data.
import type { Dataset } from '../../data/dataset.js';
import { subset } from '../../data/dataset.js';
import { Random, SecureRandom, seedFromOs } from '../../data/random.js';
import { invalidArgument, invalidType } from '../../errors.js';
import {
  finiteNumber,
  nonNegativeFinite,
  nonNegativeInteger,
  optionsObject,
  positiveFinite,
  positiveInteger,
  requiredObject,
  stringValue,
  withMethods,
} from '../../validate.js';
import { FederatedClient } from '../client.js';
import type { FlModel, LocalTrainingOptions } from '../model.js';
import { exampleIndices, labelledDataset } from '../validate.js';
import {
  Aborted,
  type BackoffOptions,
  drain,
  errorBody,
  FederationError,
  type Fetch,
  jittered,
  refusedToken,
  type RetryNotice,
  retryAfterSeconds,
  send,
  sleep,
  type Transport,
} from './http.js';
import { PROTOCOL_VERSION, ROUTES, type EvaluationReport, type RegisterResponse, type Task } from './protocol.js';
import { crc32, encodeFrame } from './wire.js';
import type { SecAggError } from './secagg/errors.js';
import { secureRound, type SecureStep } from './secure-round.js';

/** An FlModel that may also report a loss (mean over data), sent with accuracy in evaluations. */
export type EvaluableModel = FlModel & { loss?(params: Float32Array, data: Dataset): number | Promise<number> };

export interface JoinOptions {
  /** The coordinator's base URL, e.g. 'https://fl.example.org' (routes are appended). */
  url: string;
  /** The client token `<client id>.<secret>` (dpfl serve token). */
  token: string;
  model: EvaluableModel;
  data: Dataset;
  /** The examples of data on this device (indices; a function is read at every round). Default: all. */
  examples?: ArrayLike<number> | (() => ArrayLike<number>);
  /** A fetch to use (default globalThis.fetch). */
  fetch?: Fetch;
  /** Stops the client: the promise then resolves with stopped 'aborted'. */
  signal?: AbortSignal;
  onEvent?: (event: JoinEvent) => void;
  /** Stop after training this many rounds. Default: until the federation ends (410). */
  maxRounds?: number;
  /** Seconds between task polls when the server gives no Retry-After. Default 5. */
  pollSeconds?: number;
  backoff?: BackoffOptions;
  /**
   * Seeds local training reproducibly: round t of client k draws from Random.derive(seed, 3, t, k)
   * after one draw, the stream simulate() gives it (so a networked run can match a simulation).
   * Default: a Random seeded from the OS CSPRNG.
   */
  seed?: number;
  /** Client software, for the server's log. */
  agent?: string;
}

export type JoinEvent =
  | { type: 'registered'; client: number; dim: number; samples: number }
  | { type: 'waiting'; seconds: number }
  | { type: 'task'; round: number; evaluate: boolean }
  | { type: 'trained'; round: number; samples: number }
  | { type: 'uploaded'; round: number }
  | { type: 'evaluated'; round: number; metrics: Record<string, number> }
  /** A refusal the client survives: 409 duplicate, 403 notSelected, 400 badFrame, late, rejected, ... */
  | {
      type: 'refused';
      round: number;
      step: 'model' | 'update' | 'evaluate' | SecureStep;
      status: number;
      error: string;
      reason?: string;
      message: string;
    }
  /** Secure aggregation: a stage this client completed (advertise, shares, update, unmask). */
  | { type: 'secureStage'; round: number; step: SecureStep }
  /** Secure aggregation: a server message this client refused (SecAggError reason); its round ends. */
  | { type: 'secureRefused'; round: number; step: SecureStep; reason: string; message: string }
  | ({ type: 'retry' } & RetryNotice)
  | { type: 'stopped'; reason: JoinSummary['stopped'] };

export interface JoinSummary {
  /** The client id the server gave (undefined when the federation had ended before registration). */
  client: number | undefined;
  /** Rounds trained (and an upload attempted). */
  rounds: number;
  accepted: number;
  refused: number;
  evaluations: number;
  /** Last round this client took part in. */
  lastRound: number | undefined;
  /** 'finished': the server answered 410 Gone; 'aborted': the signal; 'maxRounds': the limit was reached. */
  stopped: 'finished' | 'aborted' | 'maxRounds';
}

const DEFAULT_BACKOFF: Required<BackoffOptions> = { baseSeconds: 0.5, capSeconds: 30, maxFailures: 8 };

/** The base URL, without a trailing slash (http or https only). */
function baseUrl(url: unknown): string {
  const s = stringValue('url', url);
  let parsed: URL;
  try {
    parsed = new URL(s);
  } catch {
    throw invalidArgument('url', 'an absolute http(s) URL', s);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalidArgument('url', 'an absolute http(s) URL', s);
  }
  return s.replace(/\/+$/, '');
}

function checkOptions(o: JoinOptions) {
  requiredObject('options', o);
  const base = baseUrl(o.url);
  if (typeof o.token !== 'string' || !/^[\x21-\x7e]+$/.test(o.token)) {
    // Never echo a secret: say only what kind of value came.
    throw invalidType('token', 'a non-empty token of printable ASCII without spaces', typeof o.token);
  }
  withMethods('model', o.model, 'an FlModel', 'init', 'train', 'accuracy');
  positiveInteger('model.dim', o.model.dim);
  labelledDataset('data', o.data);
  if (o.fetch !== undefined && typeof o.fetch !== 'function') throw invalidType('fetch', 'a function', o.fetch);
  if (o.fetch === undefined && typeof globalThis.fetch !== 'function') {
    throw invalidType('fetch', 'a function (this runtime has no global fetch)', o.fetch);
  }
  if (o.signal !== undefined) withMethods('signal', o.signal, 'an AbortSignal', 'addEventListener');
  if (o.onEvent !== undefined && typeof o.onEvent !== 'function') throw invalidType('onEvent', 'a function', o.onEvent);
  if (o.maxRounds !== undefined) positiveInteger('maxRounds', o.maxRounds);
  const poll = o.pollSeconds === undefined ? 5 : positiveFinite('pollSeconds', o.pollSeconds);
  const b = optionsObject('backoff', o.backoff);
  const backoff: Required<BackoffOptions> = {
    baseSeconds:
      b.baseSeconds === undefined ? DEFAULT_BACKOFF.baseSeconds : positiveFinite('backoff.baseSeconds', b.baseSeconds),
    capSeconds:
      b.capSeconds === undefined ? DEFAULT_BACKOFF.capSeconds : positiveFinite('backoff.capSeconds', b.capSeconds),
    maxFailures:
      b.maxFailures === undefined ? DEFAULT_BACKOFF.maxFailures : positiveInteger('backoff.maxFailures', b.maxFailures),
  };
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) throw invalidArgument('seed', 'a safe integer', o.seed);
  if (o.agent !== undefined) stringValue('agent', o.agent);
  const examples =
    o.examples === undefined
      ? () => Int32Array.from({ length: o.data.size }, (_, i) => i)
      : typeof o.examples === 'function'
        ? o.examples
        : () => o.examples as ArrayLike<number>;
  exampleIndices('examples', examples(), o.data.size);
  return { base, poll, backoff, examples };
}

function malformed(what: string, error: unknown): FederationError {
  const detail = error instanceof Error ? error.message : String(error);
  return new FederationError('ERR_DPFL_PROTOCOL', `the server sent a malformed ${what}: ${detail}`);
}

/** A Task from the server, checked field by field (a server bug must not reach model.train). */
function checkTask(value: unknown): Task {
  try {
    const t = requiredObject('task', value as Task);
    nonNegativeInteger('task.round', t.round);
    if (t.deadline !== undefined) finiteNumber('task.deadline', t.deadline);
    const p = requiredObject('task.training', t.training);
    nonNegativeInteger('task.training.epochs', p.epochs);
    positiveInteger('task.training.batchSize', p.batchSize);
    finiteNumber('task.training.lr', p.lr);
    nonNegativeFinite('task.training.mu', p.mu);
    if (typeof t.evaluate !== 'boolean') throw invalidType('task.evaluate', 'a boolean', t.evaluate);
    return t;
  } catch (e) {
    throw malformed('Task', e);
  }
}

/** The answer to a request that is neither a success nor survivable: a typed error. */
async function unexpected(res: Response, what: string): Promise<Error> {
  const body = await errorBody(res);
  if (res.status === 401) return refusedToken(body);
  return new FederationError(
    'ERR_DPFL_PROTOCOL',
    `${what}: the server answered ${res.status} ${body.error ?? ''}${body.message ? ` (${body.message})` : ''}`,
    { status: res.status, body },
  );
}

/** Joins a federation and takes part in its rounds until it ends (410), the signal aborts, or maxRounds. */
export async function joinFederation(options: JoinOptions): Promise<JoinSummary> {
  const { base, poll, backoff, examples } = checkOptions(options);
  const { model, data, signal } = options;
  const emit = (e: JoinEvent) => options.onEvent?.(e);
  const t: Transport = {
    base,
    token: options.token,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    signal,
    backoff,
    jitter: new SecureRandom(),
    onRetry: (n) => emit({ type: 'retry', ...n }),
  };
  const summary: JoinSummary = {
    client: undefined,
    rounds: 0,
    accepted: 0,
    refused: 0,
    evaluations: 0,
    lastRound: undefined,
    stopped: 'finished',
  };
  const stop = (reason: JoinSummary['stopped']) => {
    summary.stopped = reason;
    emit({ type: 'stopped', reason });
    return summary;
  };
  const refused = async (res: Response, round: number, step: 'model' | 'update' | 'evaluate' | SecureStep) => {
    const body = await errorBody(res);
    summary.refused += step === 'update' ? 1 : 0;
    emit({
      type: 'refused',
      round,
      step,
      status: res.status,
      error: body.error ?? String(res.status),
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
      message: body.message ?? '',
    });
  };
  try {
    const samples = examples().length;
    const reg = await send(t, 'register', 'POST', ROUTES.register, {
      type: 'application/json',
      data: JSON.stringify({ samples, ...(options.agent !== undefined ? { agent: options.agent } : {}) }),
    });
    if (reg.status === 410) return stop('finished');
    if (!reg.ok) throw await unexpected(reg, 'registration');
    const joined = await registration(reg, model.dim);
    summary.client = joined.client;
    emit({ type: 'registered', client: joined.client, dim: joined.dim, samples });
    // The plan is the server's, per task: FederatedClient reads this object at every train call.
    const plan: LocalTrainingOptions = { epochs: 1, batchSize: 1, lr: 0, mu: 0 };
    const client = new FederatedClient(joined.client, model, data, examples, plan);
    const osRandom = options.seed === undefined ? new Random(seedFromOs()) : undefined;
    const rngFor = (round: number) => {
      if (osRandom) return osRandom;
      const rng = Random.derive(options.seed!, 3, round, joined.client);
      rng.next(); // simulate() draws the dropout coin first
      return rng;
    };
    const wait = async (seconds: number) => {
      emit({ type: 'waiting', seconds });
      await sleep(seconds * 1000, signal);
    };

    for (;;) {
      if (options.maxRounds !== undefined && summary.rounds >= options.maxRounds) return stop('maxRounds');
      const res = await send(t, 'task', 'GET', ROUTES.task);
      if (res.status === 410) return stop('finished');
      if (res.status === 204 || res.status === 200) {
        const after = retryAfterSeconds(res.headers.get('retry-after'));
        const task =
          res.status === 200
            ? checkTask(await res.json().catch((e) => Promise.reject(malformed('Task', e))))
            : undefined;
        // No task, or the round this client already did (still open): wait and ask again.
        if (task === undefined || (summary.lastRound !== undefined && task.round <= summary.lastRound)) {
          await wait(jittered(t, after ?? poll));
          continue;
        }
        const round = task.round;
        emit({ type: 'task', round, evaluate: task.evaluate });
        summary.lastRound = round;
        /** Downloads the model, evaluates it when asked, trains: the report, or the refusal. */
        const train = async () => {
          const global = await download(t, round, model.dim);
          if (global instanceof Response) {
            if (global.status === 410) return 'finished' as const;
            await refused(global, round, 'model');
            return global;
          }
          // Evaluated before training, so the report reaches the server while its round is open.
          if (task.evaluate) {
            const mine = options.examples === undefined ? data : subset(data, Int32Array.from(examples()));
            await evaluate(t, model, mine, global, round, summary, emit, refused);
          }
          Object.assign(plan, {
            epochs: task.training.epochs,
            batchSize: task.training.batchSize,
            lr: task.training.lr,
            mu: task.training.mu,
          });
          const report = await client.train(global, round, rngFor(round));
          summary.rounds++;
          emit({ type: 'trained', round, samples: report.samples });
          return report;
        };
        if (task.secureAggregation !== undefined) {
          // SecAgg+ (secure-round.ts): the update is clipped, masked and uploaded between key stages.
          const outcome = await secureRound({
            t,
            task: task as Task & { secureAggregation: NonNullable<Task['secureAggregation']> },
            client: joined.client,
            dim: model.dim,
            poll,
            train: async () => {
              const r = await train();
              return r === 'finished' || r instanceof Response ? r : r.update;
            },
            refused: (res, step) => refused(res, round, step),
            refusedMessage: (step: SecureStep, e: SecAggError) =>
              emit({ type: 'secureRefused', round, step, reason: e.reason, message: e.message }),
            progress: (step) => {
              if (step === 'update') {
                summary.accepted++;
                emit({ type: 'uploaded', round });
              }
              emit({ type: 'secureStage', round, step });
            },
          });
          if (outcome === 'finished') return stop('finished');
          continue;
        }
        const report = await train();
        if (report === 'finished') return stop('finished');
        if (report instanceof Response) continue;
        const frame = encodeFrame({ kind: 'float32', round, samples: report.samples, payload: report.update });
        const up = await send(t, 'update', 'POST', `${ROUTES.update}?round=${round}`, {
          type: 'application/octet-stream',
          data: frame,
        });
        // A 410 here is 'late' (the round closed: after a server restart its replayed uploads may
        // close it at once), not the end of the federation: a refusal, then the task poll decides.
        if (up.ok) {
          await drain(up);
          summary.accepted++;
          emit({ type: 'uploaded', round });
        } else if (up.status === 401) {
          throw refusedToken(await errorBody(up));
        } else {
          await refused(up, round, 'update');
        }
        continue;
      }
      throw await unexpected(res, 'GET /v1/task');
    }
  } catch (e) {
    if (e instanceof Aborted || (signal?.aborted && !(e instanceof FederationError))) return stop('aborted');
    throw e;
  }
}

async function registration(res: Response, dim: number): Promise<RegisterResponse> {
  let r: RegisterResponse;
  try {
    r = requiredObject('registration', (await res.json()) as RegisterResponse);
    nonNegativeInteger('registration.client', r.client);
    positiveInteger('registration.dim', r.dim);
  } catch (e) {
    throw malformed('registration', e);
  }
  if (r.protocol !== PROTOCOL_VERSION) {
    throw new FederationError(
      'ERR_DPFL_PROTOCOL',
      `the server speaks protocol ${String(r.protocol)}, this client version ${PROTOCOL_VERSION}`,
    );
  }
  if (r.dim !== dim) throw invalidArgument('model.dim', `the dimension of the server's model (${r.dim})`, dim);
  return r;
}

/**
 * The global model of a round, checked against its length (4·dim bytes) and the x-dpfl-crc32 header;
 * a corrupt body is fetched again (up to maxFailures times). A refusal comes back as the Response.
 */
async function download(t: Transport, round: number, dim: number): Promise<Float32Array | Response> {
  for (let attempt = 1; ; attempt++) {
    const res = await send(t, 'model', 'GET', `${ROUTES.model}?round=${round}`);
    if (res.status === 401) throw refusedToken(await errorBody(res));
    if (!res.ok) return res;
    const header = res.headers.get('x-dpfl-crc32');
    if (header === null || !/^\d+$/.test(header)) {
      throw new FederationError(
        'ERR_DPFL_PROTOCOL',
        `the model download has no x-dpfl-crc32 header (received ${JSON.stringify(header)}; a cross-origin ` +
          'server must list it in Access-Control-Expose-Headers)',
        { status: res.status },
      );
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const problem =
      bytes.length !== 4 * dim
        ? `${bytes.length} bytes, expected 4 × ${dim}`
        : crc32(bytes) !== Number(header)
          ? `CRC-32 ${crc32(bytes)}, header says ${header}`
          : undefined;
    if (problem === undefined) return new Float32Array(bytes.buffer, bytes.byteOffset, dim);
    if (attempt >= t.backoff.maxFailures) {
      throw new FederationError(
        'ERR_DPFL_NETWORK',
        `the model of round ${round} arrived corrupt ${attempt} times (${problem})`,
      );
    }
    const seconds = jittered(t, t.backoff.baseSeconds);
    t.onRetry({ step: 'model', attempt, seconds, cause: problem });
    await sleep(seconds * 1000, t.signal);
  }
}

/** Federated evaluation of the global model on this device's examples (accuracy, and loss when the model has one). */
async function evaluate(
  t: Transport,
  model: EvaluableModel,
  local: Dataset,
  global: Float32Array,
  round: number,
  summary: JoinSummary,
  emit: (e: JoinEvent) => void,
  refused: (res: Response, round: number, step: 'evaluate') => Promise<void>,
): Promise<void> {
  const metrics: Record<string, number> = {};
  if (local.size > 0) {
    metrics.accuracy = await model.accuracy(global, local);
    if (typeof model.loss === 'function') metrics.loss = await model.loss(global, local);
  }
  // Only finite metrics travel (the server refuses others).
  for (const k of Object.keys(metrics)) if (!Number.isFinite(metrics[k])) delete metrics[k];
  const report: EvaluationReport = { round, samples: local.size, metrics };
  const res = await send(t, 'evaluate', 'POST', ROUTES.evaluate, {
    type: 'application/json',
    data: JSON.stringify(report),
  });
  if (res.ok) {
    await drain(res);
    summary.evaluations++;
    emit({ type: 'evaluated', round, metrics });
  } else if (res.status === 401) {
    throw refusedToken(await errorBody(res));
  } else {
    await refused(res, round, 'evaluate');
  }
}
