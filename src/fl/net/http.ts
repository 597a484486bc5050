// HTTP plumbing shared by the routes: error answers in protocol.ts's ErrorBody shape, JSON replies,
// and reading a request body under a byte limit without buffering more than the limit. Works on
// node:http's and node:http2's compatibility request/response alike.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { ErrorBody } from '../client/protocol.js';

export type Request = IncomingMessage | Http2ServerRequest;
export type Response = ServerResponse | Http2ServerResponse;

/** A refusal: the status code and the ErrorBody the client gets. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
  }
}

export function httpError(
  status: number,
  error: string,
  message: string,
  reason?: string,
  headers?: Record<string, string>,
): HttpError {
  return new HttpError(status, { error, ...(reason !== undefined ? { reason } : {}), message }, headers);
}

export function sendJson(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(res: Response, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'cache-control': 'no-store', ...headers });
  res.end();
}

/**
 * Answers an error. When the request body was not (fully) read, the connection is closed after
 * the answer instead of draining what the client is still sending: an oversized or refused upload
 * costs the server no more than the bytes already received.
 */
export function sendError(req: Request, res: Response, e: HttpError, bodyUnread: boolean): void {
  if (res.headersSent) {
    req.destroy();
    return;
  }
  const headers = { ...e.headers };
  if (bodyUnread && req.httpVersionMajor < 2) headers.connection = 'close';
  sendJson(res, e.status, e.body, headers);
  if (bodyUnread) {
    res.on('finish', () => {
      if (req.httpVersionMajor >= 2) (req as Http2ServerRequest).stream.close();
      else (req as IncomingMessage).socket.destroySoon();
    });
  }
}

/**
 * Reads the whole body if it is at most `limit` bytes (exactly `exact` when given): refuses with
 * 413 as soon as Content-Length or the streamed bytes exceed the limit, without reading further.
 */
export function readBody(req: Request, limit: number, exact = false, timeoutMs = 60_000): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined) {
      const n = Number(declared);
      if (!Number.isSafeInteger(n) || n < 0) {
        reject(httpError(400, 'badRequest', 'Content-Length must be a non-negative integer'));
        return;
      }
      if (n > limit) {
        reject(httpError(413, 'tooLarge', `the body may hold at most ${limit} bytes, Content-Length says ${n}`));
        return;
      }
      if (exact && n !== limit) {
        reject(httpError(400, 'badFrame', `the frame must be ${limit} bytes, Content-Length says ${n}`, 'length'));
        return;
      }
    }
    const body = new Uint8Array(limit);
    let size = 0;
    let done = false;
    // A body that stalls (slow-loris) is given up after timeoutMs; the connection is then closed.
    const timer = setTimeout(() => fail(httpError(408, 'badRequest', 'the request body took too long')), timeoutMs);
    const fail = (e: HttpError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.removeListener('data', onData);
      req.pause();
      reject(e);
    };
    const onData = (chunk: Buffer) => {
      if (done) return;
      if (size + chunk.length > limit) {
        fail(httpError(413, 'tooLarge', `the body may hold at most ${limit} bytes`));
        return;
      }
      body.set(chunk, size);
      size += chunk.length;
    };
    req.on('data', onData);
    req.on('end', () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(size === limit ? body : body.slice(0, size));
    });
    req.on('error', () => fail(httpError(400, 'badRequest', 'the request body could not be read')));
    req.on('aborted', () => fail(httpError(400, 'badRequest', 'the request was aborted')));
  });
}

/** Parses a JSON object body; any garbage is a 400 badRequest, never an exception. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw httpError(400, 'badRequest', 'the body must be a JSON object (UTF-8)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw httpError(400, 'badRequest', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}
