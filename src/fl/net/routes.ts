// The HTTP routes of protocol.ts over the Coordinator: authentication (bearer token, constant-time
// hash comparison), the per-token rate limit, body limits, and one handler per route. Every
// failure answers an ErrorBody; nothing a client sends escapes as an exception (handle() catches
// everything, and an unexpected error answers 500 without detail).
import { PROTOCOL_VERSION, ROUTES, type RegisterResponse, type Task, type UploadResponse } from '../client/protocol.js';
import type { Coordinator, FlEvent } from './coordinator.js';
import { answerPreflight, applyCors, type CorsOrigins } from './cors.js';
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
import type { RateLimiter } from './rate-limit.js';
import { parseBearer, secretMatches } from './tokens.js';

/**
 * Where secure aggregation plugs in: requests under /v1/secagg/* go to this handler (the SecAgg+
 * coordinator of src/fl/net/secagg-coordinator.ts), after authentication and the rate limit.
 */
export interface SecureAggregationRoutes {
  handle(client: number, subpath: string, req: Request, res: Response): Promise<void>;
  /** The Task's secureAggregation parameters for a selected client (absent: plain uploads this round). */
  taskParameters?(round: number, client: number): Task['secureAggregation'] | undefined;
}

export interface RouteContext {
  coordinator: Coordinator;
  limiter: RateLimiter;
  maxJsonBytes: number;
  secureAggregation?: SecureAggregationRoutes;
  /** The origins browser pages may call from (config.cors); absent: no cross-origin access. */
  cors?: CorsOrigins;
  emit: (event: FlEvent) => void;
}

const AGENT_MAX = 200;
const NO_TOKEN = new Uint8Array(32);

/** The client a request's token authenticates (401 on anything else, before any round state is read). */
function authenticate(ctx: RouteContext, req: Request): number {
  const bearer = parseBearer(req.headers.authorization);
  const unauthorized = httpError(
    401,
    'unauthorized',
    'a valid client token is required (Authorization: Bearer <id>.<secret>)',
    undefined,
    {
      'www-authenticate': 'Bearer',
    },
  );
  if (!bearer || bearer.client >= ctx.coordinator.config.clients.population) throw unauthorized;
  const row = ctx.coordinator.store.client(bearer.client);
  // The hash is compared even for an id without a token, so timing does not tell which ids have one.
  const matches = secretMatches(bearer.secret, row?.hash ?? NO_TOKEN);
  if (!row || row.revoked || !matches) throw unauthorized;
  return bearer.client;
}

function roundParam(url: URL): number {
  const raw = url.searchParams.get('round');
  if (raw === null || !/^\d{1,9}$/.test(raw))
    throw httpError(400, 'badRequest', 'round must be given as ?round=<non-negative integer>');
  return Number(raw);
}

function method(req: Request, expected: 'GET' | 'POST'): void {
  if (req.method !== expected) throw httpError(405, 'badRequest', `use ${expected}`, undefined, { allow: expected });
}

/** Handles one request; never throws. */
export async function handle(ctx: RouteContext, req: Request, res: Response): Promise<void> {
  let bodyUnread = req.method !== 'GET' && req.method !== 'HEAD';
  let admitted: number | undefined;
  try {
    applyCors(ctx.cors, req, res);
    if (req.method === 'OPTIONS') {
      // A CORS preflight: no token comes with it (browsers never send one), so none is asked for.
      bodyUnread = false;
      answerPreflight(ctx.cors, req, res);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const client = authenticate(ctx, req);
    const wait = ctx.limiter.take(client);
    if (wait > 0)
      throw httpError(429, 'rateLimited', 'too many requests for this token', undefined, {
        'retry-after': String(wait),
      });
    const c = ctx.coordinator;
    const json = async () => {
      const body = parseJsonObject(await readBody(req, ctx.maxJsonBytes));
      bodyUnread = false;
      return body;
    };
    switch (path) {
      case ROUTES.register: {
        method(req, 'POST');
        const body = await json();
        const { samples, agent } = body;
        if (!Number.isSafeInteger(samples) || (samples as number) < 0)
          throw httpError(400, 'badRequest', 'samples must be a non-negative integer');
        if (agent !== undefined && (typeof agent !== 'string' || agent.length > AGENT_MAX))
          throw httpError(400, 'badRequest', `agent must be a string of at most ${AGENT_MAX} characters`);
        c.register(client, samples as number, agent as string | undefined);
        const out: RegisterResponse = { protocol: PROTOCOL_VERSION, client, dim: c.dim };
        sendJson(res, 200, out);
        return;
      }
      case ROUTES.task: {
        method(req, 'GET');
        const task = c.task(client);
        if ('retryAfter' in task) {
          sendEmpty(res, 204, { 'retry-after': String(task.retryAfter) });
        } else {
          const secure = ctx.secureAggregation?.taskParameters?.(task.round, client);
          sendJson(res, 200, secure ? { ...task, secureAggregation: secure } : task);
        }
        return;
      }
      case ROUTES.model: {
        method(req, 'GET');
        const { bytes, crc } = c.model(roundParam(url));
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(bytes.byteLength),
          'x-dpfl-crc32': String(crc),
          'cache-control': 'no-store',
        });
        res.end(bytes);
        return;
      }
      case ROUTES.update: {
        method(req, 'POST');
        const round = roundParam(url);
        const size = c.admitUpload(client, round); // 403 / 409 / 410 before a byte of the body is read
        admitted = client;
        const bytes = await readBody(req, size, true);
        bodyUnread = false;
        admitted = undefined; // upload() forgets the admission itself, whatever it decides
        const out = c.upload(client, round, bytes);
        const answer: UploadResponse = { status: 'accepted', round: out.round };
        sendJson(res, 200, answer);
        return;
      }
      case ROUTES.evaluate: {
        method(req, 'POST');
        c.evaluate(client, await json());
        sendEmpty(res, 204);
        return;
      }
      case ROUTES.status: {
        method(req, 'GET');
        sendJson(res, 200, c.status());
        return;
      }
      default:
        if (path === ROUTES.secagg || path.startsWith(`${ROUTES.secagg}/`)) {
          if (!ctx.secureAggregation)
            throw httpError(404, 'notFound', 'secure aggregation is not enabled on this server');
          bodyUnread = false; // the stage handler owns the body and the answer
          await ctx.secureAggregation.handle(client, path.slice(ROUTES.secagg.length), req, res);
          return;
        }
        throw httpError(404, 'notFound', `no route ${path}`);
    }
  } catch (error) {
    if (admitted !== undefined) ctx.coordinator.abandonUpload(admitted);
    if (error instanceof HttpError) {
      sendError(req, res, error, bodyUnread);
    } else {
      ctx.emit({
        type: 'error',
        message: `request ${req.method} ${req.url}: ${(error as Error)?.stack ?? error}`,
        fatal: false,
      });
      sendError(req, res, httpError(500, 'internal', 'internal error'), bodyUnread);
    }
  }
}
