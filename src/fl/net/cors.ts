// Cross-origin resource sharing (the Fetch standard's CORS protocol) for browser clients: a page on
// another origin may call the routes when the config lists its origin (or '*'). Preflights (OPTIONS)
// are answered without authentication: they carry no token and reveal nothing. Every other answer —
// refusals included, so a page can read a 401 or a 204's Retry-After — carries the allow headers,
// and exposes the two response headers the client reads (x-dpfl-crc32, retry-after).
import type { Request, Response } from './http.js';

export type CorsOrigins = readonly string[] | '*';

const ALLOW_METHODS = 'GET, POST, OPTIONS';
const ALLOW_HEADERS = 'authorization, content-type';
const EXPOSE_HEADERS = 'x-dpfl-crc32, retry-after';
/** Seconds a browser may cache a preflight's answer. */
const MAX_AGE = '600';

/** The Access-Control-Allow-Origin value for a request's Origin, or undefined when it is not allowed. */
export function allowedOrigin(origins: CorsOrigins | undefined, origin: string | undefined): string | undefined {
  if (origins === undefined || origin === undefined) return undefined;
  if (origins === '*') return '*';
  return origins.includes(origin) ? origin : undefined;
}

/**
 * Sets the CORS headers of an answer on res (writeHead merges them with its own). A list of origins
 * makes the answer depend on Origin: Vary says so, whether or not this request's origin is allowed.
 */
export function applyCors(origins: CorsOrigins | undefined, req: Request, res: Response): void {
  if (origins === undefined) return;
  if (origins !== '*') res.setHeader('vary', 'Origin');
  const allow = allowedOrigin(origins, req.headers.origin);
  if (allow === undefined) return;
  res.setHeader('access-control-allow-origin', allow);
  res.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
}

/**
 * Answers a preflight (OPTIONS): 204 with the methods and headers the routes accept, for an allowed
 * origin (applyCors set its Allow-Origin already); 204 with only `allow` otherwise, which the browser
 * reads as a refusal.
 */
export function answerPreflight(origins: CorsOrigins | undefined, req: Request, res: Response): void {
  const headers: Record<string, string> = { allow: ALLOW_METHODS, 'cache-control': 'no-store' };
  if (allowedOrigin(origins, req.headers.origin) !== undefined) {
    headers['access-control-allow-methods'] = ALLOW_METHODS;
    headers['access-control-allow-headers'] = ALLOW_HEADERS;
    headers['access-control-max-age'] = MAX_AGE;
  }
  res.writeHead(204, headers);
  res.end();
}
