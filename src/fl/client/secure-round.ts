// One round of joinFederation with secure aggregation (SecAgg+, ./secagg): the stages under
// /v1/secagg (src/fl/net/secagg-routes.ts) around a masked upload. The client advertises keys,
// shares its secrets with its neighbours, trains, uploads its clipped, quantised and masked update
// (frame kind 'masked', samples 0: the server needs no count to average uniformly), and answers the
// unmask request — or refuses it (SecAggError) when the request would let the server unmask it.
// Each stage is polled: 204 with Retry-After until the server closes the previous stage.
// Pure TypeScript + WebCrypto: runs in browsers.
import { SecAggClient } from './secagg/client.js';
import { SecAggError } from './secagg/errors.js';
import type { Roster, ShareInbox, UnmaskRequest } from './secagg/messages.js';
import { drain, errorBody, FederationError, jittered, refusedToken, retryAfterSeconds, send, sleep } from './http.js';
import type { Transport } from './http.js';
import { ROUTES, type Task } from './protocol.js';
import { encodeFrame } from './wire.js';

export type SecureStep = 'advertise' | 'roster' | 'shares' | 'inbox' | 'update' | 'unmask';

/** What a secure round needs from joinFederation. */
export interface SecureRoundContext {
  t: Transport;
  task: Task & { secureAggregation: NonNullable<Task['secureAggregation']> };
  client: number;
  dim: number;
  /** Seconds between stage polls when the server gives no Retry-After. */
  poll: number;
  /** Downloads the round's model and trains: the update Δ (clipped here), or a refusal to report. */
  train(): Promise<Float32Array | Response | 'finished'>;
  /** A refusal the client survives (the round is over for it). */
  refused(res: Response, step: SecureStep): Promise<void>;
  /** A protocol message this client refused (its secrets stay with it). */
  refusedMessage(step: SecureStep, error: SecAggError): void;
  /** A stage done. */
  progress(step: SecureStep): void;
}

/** 'done': the masked update and the unmask answer went out; 'dropped': the round ended early for this client. */
export type SecureRoundOutcome = 'done' | 'dropped' | 'finished';

const path = (route: string, round?: number) =>
  `${ROUTES.secagg}/${route}${round === undefined ? '' : `?round=${round}`}`;

export async function secureRound(c: SecureRoundContext): Promise<SecureRoundOutcome> {
  const { t, task, client, dim } = c;
  const { round } = task;
  const p = task.secureAggregation;
  let sa: SecAggClient;
  try {
    sa = new SecAggClient({ round, client, dim, clipNorm: p.clipNorm, scale: p.scale, threshold: p.threshold });
  } catch (e) {
    throw new FederationError('ERR_DPFL_PROTOCOL', `the server sent a malformed Task: ${(e as Error).message}`);
  }
  /** A non-2xx answer: survivable ('dropped'), the end of the federation, or an error. */
  const answer = async (res: Response, step: SecureStep): Promise<SecureRoundOutcome> => {
    if (res.status === 401) throw refusedToken(await errorBody(res));
    if (res.status === 410) {
      const body = await errorBody(res.clone());
      if (body.error === 'finished') return 'finished';
    }
    await c.refused(res, step);
    return 'dropped';
  };
  const post = (step: SecureStep, message: unknown) =>
    send(t, `secagg/${step}`, 'POST', path(step), { type: 'application/json', data: JSON.stringify(message) });
  /** GET a stage's message, waiting while the server answers 204. */
  const poll = async <T>(step: SecureStep): Promise<T | Response> => {
    for (;;) {
      const res = await send(t, `secagg/${step}`, 'GET', path(step, round));
      if (res.status === 200) {
        try {
          return (await res.json()) as T;
        } catch (e) {
          throw new FederationError('ERR_DPFL_PROTOCOL', `the server sent a malformed ${step}: ${String(e)}`);
        }
      }
      if (res.status !== 204) return res;
      await drain(res);
      await sleep(jittered(t, retryAfterSeconds(res.headers.get('retry-after')) ?? c.poll) * 1000, t.signal);
    }
  };
  /** Runs a step of the engine; a SecAggError is a refusal of this client (the round ends for it). */
  const engine = async <T>(step: SecureStep, f: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await f();
    } catch (e) {
      if (!(e instanceof SecAggError)) throw e;
      c.refusedMessage(step, e);
      return undefined;
    }
  };

  let res = await post('advertise', await sa.advertise());
  if (!res.ok) return answer(res, 'advertise');
  await drain(res);
  c.progress('advertise');

  const roster = await poll<Roster>('roster');
  if (roster instanceof Response) return answer(roster, 'roster');
  const shares = await engine('roster', () => sa.shareKeys(roster));
  if (shares === undefined) return 'dropped';
  res = await post('shares', shares);
  if (!res.ok) return answer(res, 'shares');
  await drain(res);
  c.progress('shares');

  // Training happens in the masking stage (the longest): the model is fetched only now.
  const update = await c.train();
  if (update === 'finished') return 'finished';
  if (update instanceof Response) return 'dropped';

  const inbox = await poll<ShareInbox>('inbox');
  if (inbox instanceof Response) return answer(inbox, 'inbox');
  const masked = await engine('inbox', async () => {
    await sa.receiveShares(inbox);
    return sa.mask(update);
  });
  if (masked === undefined) return 'dropped';
  const frame = encodeFrame({ kind: 'masked', round, samples: 0, payload: masked });
  res = await send(t, 'update', 'POST', `${ROUTES.update}?round=${round}`, {
    type: 'application/octet-stream',
    data: frame,
  });
  if (!res.ok) return answer(res, 'update');
  await drain(res);
  c.progress('update');

  const request = await poll<UnmaskRequest>('unmask');
  if (request instanceof Response) return answer(request, 'unmask');
  const reply = await engine('unmask', () => sa.unmask(request));
  if (reply === undefined) return 'dropped';
  res = await post('unmask', reply);
  if (!res.ok) return answer(res, 'unmask');
  await drain(res);
  c.progress('unmask');
  return 'done';
}
