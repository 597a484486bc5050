// The HTTP side of dpfl/fl/client: one request with retries (exponential backoff with jitter on
// network errors, 5xx and 429; Retry-After honoured), abortable waits, and the typed errors of a
// federation. fetch only (WHATWG): runs in Node 18+ and browsers.
import { invalidArgument, withCode, type DpflErrorCode } from '../../errors.js';
import { oneOf, requiredObject, stringValue } from '../../validate.js';
import type { SecureRandom } from '../../data/random.js';
import type { ErrorBody } from './protocol.js';

/** Retries of a request that failed in transit or with 5xx/429, and their waits. */
export interface BackoffOptions {
  /** First wait in seconds (doubled per consecutive failure). Default 0.5. */
  baseSeconds?: number;
  /** Longest wait in seconds. Default 30. */
  capSeconds?: number;
  /** Consecutive failures of one request before it gives up (ERR_DPFL_NETWORK). Default 8. */
  maxFailures?: number;
}

/**
 * An error of a federation: code ERR_DPFL_NETWORK (the coordinator stayed unreachable through the
 * retries) or ERR_DPFL_PROTOCOL (it answered what this client cannot follow). status and error
 * carry the HTTP status and the ErrorBody's code when there was an answer.
 */
export class FederationError extends Error {
  readonly code: DpflErrorCode;
  readonly status: number | undefined;
  readonly error: string | undefined;
  readonly reason: string | undefined;

  constructor(
    code: 'ERR_DPFL_NETWORK' | 'ERR_DPFL_PROTOCOL',
    message: string,
    answer?: { status: number; body?: Partial<ErrorBody> },
    cause?: unknown,
  ) {
    // Checked before super(): a caller's bad arguments get a typed error, not a half-built one.
    oneOf('code', code, ['ERR_DPFL_NETWORK', 'ERR_DPFL_PROTOCOL']);
    stringValue('message', message);
    if (answer !== undefined) {
      requiredObject('answer', answer);
      if (!Number.isInteger(answer.status))
        throw invalidArgument('answer.status', 'an HTTP status code', answer.status);
      if (answer.body !== undefined) requiredObject('answer.body', answer.body);
    }
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'FederationError';
    this.code = code;
    this.status = answer?.status;
    this.error = answer?.body?.error;
    this.reason = answer?.body?.reason;
  }
}

/** The answer to a token the coordinator refused (401): an argument error naming the token (never its value). */
export function refusedToken(body: Partial<ErrorBody>): RangeError & { code: DpflErrorCode; status: number } {
  const detail = body.message ? `: ${body.message}` : '';
  const error = new RangeError(
    `token must be a client token the server accepts (<client id>.<secret> from dpfl serve token), ` +
      `received one it refused (401 ${body.error ?? 'unauthorized'}${detail})`,
  );
  return Object.assign(withCode(error, 'ERR_DPFL_INVALID_ARGUMENT'), { status: 401, error: body.error });
}

/** Thrown inside the loop when the caller's signal aborts; joinFederation turns it into a summary. */
export class Aborted extends Error {}

/** Waits ms milliseconds, or less when signal aborts (then throws Aborted). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Aborted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds (a fraction accepted) or an HTTP date; undefined if absent or bad. */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

/** Reads an ErrorBody from a refusal (any body: a proxy's HTML page becomes its status text). */
export async function errorBody(res: Response): Promise<Partial<ErrorBody>> {
  try {
    const body = (await res.json()) as unknown;
    if (typeof body === 'object' && body !== null) {
      const b = body as Record<string, unknown>;
      return {
        ...(typeof b.error === 'string' ? { error: b.error } : {}),
        ...(typeof b.reason === 'string' ? { reason: b.reason } : {}),
        ...(typeof b.message === 'string' ? { message: b.message } : {}),
      };
    }
  } catch {
    // not JSON
  }
  return { message: res.statusText };
}

/** Reads and drops a body the client does not need, so the connection goes back to the pool. */
export async function drain(res: Response): Promise<void> {
  await res.arrayBuffer().catch(() => undefined);
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface RetryNotice {
  step: string;
  attempt: number;
  seconds: number;
  cause: string;
}

export interface Transport {
  base: string;
  token: string;
  fetch: Fetch;
  signal: AbortSignal | undefined;
  backoff: Required<BackoffOptions>;
  jitter: SecureRandom;
  onRetry(notice: RetryNotice): void;
}

/** Seconds to wait after the n-th consecutive failure: exponential with equal jitter (half fixed, half random). */
export function backoffSeconds(t: Transport, n: number): number {
  const full = Math.min(t.backoff.capSeconds, t.backoff.baseSeconds * 2 ** (n - 1));
  return full * (0.5 + 0.5 * t.jitter.next());
}

/** A wait of `seconds` stretched by up to 20%, so that clients told the same Retry-After spread out. */
export function jittered(t: Transport, seconds: number): number {
  return seconds * (1 + 0.2 * t.jitter.next());
}

/**
 * Sends one request and returns the answer (2xx and the 4xx other than 429 are the caller's to read);
 * network errors, 5xx and 429 are retried after a backoff (Retry-After when the server sends one),
 * up to maxFailures consecutive failures, then ERR_DPFL_NETWORK.
 */
export async function send(
  t: Transport,
  step: string,
  method: 'GET' | 'POST',
  route: string,
  body?: { type: string; data: string | Uint8Array },
): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${t.token}` };
  if (body) headers['content-type'] = body.type;
  const doFetch = t.fetch; // called unbound: a browser's fetch refuses another `this`
  for (let attempt = 1; ; attempt++) {
    if (t.signal?.aborted) throw new Aborted();
    let cause: string;
    let wait: number | undefined;
    let res: Response | undefined;
    try {
      res = await doFetch(t.base + route, {
        method,
        headers,
        ...(body ? { body: body.data as NonNullable<RequestInit['body']> } : {}),
        ...(t.signal ? { signal: t.signal } : {}),
      });
    } catch (e) {
      if (t.signal?.aborted) throw new Aborted();
      res = undefined;
      cause = e instanceof Error ? e.message : String(e);
    }
    if (res !== undefined) {
      if (res.status < 500 && res.status !== 429) return res;
      cause = `${res.status} ${(await errorBody(res)).error ?? res.statusText}`;
      wait = retryAfterSeconds(res.headers.get('retry-after'));
    }
    if (attempt >= t.backoff.maxFailures) {
      throw new FederationError(
        'ERR_DPFL_NETWORK',
        `${method} ${route} failed ${attempt} times in a row (last: ${cause!}); the coordinator at ${t.base} ` +
          'is unreachable or failing',
        res ? { status: res.status } : undefined,
      );
    }
    const seconds = wait !== undefined ? jittered(t, wait) : backoffSeconds(t, attempt);
    t.onRetry({ step, attempt, seconds, cause: cause! });
    await sleep(seconds * 1000, t.signal);
  }
}
