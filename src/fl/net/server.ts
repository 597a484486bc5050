// createFlServer: the federated coordinator on a real network. node:http for plain HTTP (loopback,
// behind a TLS-terminating proxy) or node:http2's secure server (HTTP/2 with HTTP/1.1 fallback)
// when the config gives a certificate and key. The round rules are FederatedServer's; this file
// only wires the transport to the Coordinator (coordinator.ts) and the routes (routes.ts).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { invalidArgument } from '../../errors.js';
import { resolveConfig, type FlServerConfig, type ResolvedConfig } from './config.js';
import { Coordinator, type FlEvent } from './coordinator.js';
import { RateLimiter } from './rate-limit.js';
import { issueTokens } from './admin.js';
import { handle, type RouteContext, type SecureAggregationRoutes } from './routes.js';
import { SecureAggregation } from './secagg-routes.js';

export interface FlServerOptions {
  /** Progress and audit events (the CLI prints them). */
  onEvent?: (event: FlEvent) => void;
  /**
   * A custom handler of /v1/secagg/* (absent: those routes answer 404). config.secureAggregation
   * installs dpfl's own (secagg-routes.ts); the two do not go together.
   */
  secureAggregation?: SecureAggregationRoutes;
  /** Directory relative paths of the config resolve from (default: the working directory). */
  relativeTo?: string;
}

export interface FlServer {
  /** The base URL, once listening (http://host:port or https://host:port). */
  readonly url: string;
  readonly config: ResolvedConfig;
  readonly coordinator: Coordinator;
  /** Issues (or re-issues) client tokens in this server's database; see `dpfl serve token`. */
  issueTokens(clients: number[]): { client: number; token: string }[];
  /** Revokes a client's token: its requests answer 401 from now on. */
  revoke(client: number): boolean;
  /** Opens the port and starts driving rounds; resolves to the URL. */
  listen(): Promise<string>;
  /**
   * Stops: closes the port and every connection, stops the round timer and closes the database.
   * Writes nothing — every decision is on disk already — so closing mid-round is a clean crash:
   * the next server on the same database reopens the round.
   */
  close(): Promise<void>;
}

/** Builds the server (opens the database and restores its state); listen() opens the port. */
export function createFlServer(config: FlServerConfig, options: FlServerOptions = {}): FlServer {
  const resolved = resolveConfig(config, options.relativeTo);
  const emit = (event: FlEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A listener's failure must not stop a round.
    }
  };
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (resolved.tls) {
    const read = (field: 'cert' | 'key') => {
      try {
        return readFileSync(resolved.tls![field]);
      } catch (error) {
        throw invalidArgument(
          `config.tls.${field}`,
          'a readable PEM file',
          `${resolved.tls![field]} (${(error as Error).message})`,
        );
      }
    };
    tls = { cert: read('cert'), key: read('key') };
  }
  if (resolved.secureAggregation && options.secureAggregation)
    throw invalidArgument(
      'options.secureAggregation',
      'unset with config.secureAggregation (the server runs its own SecAgg+ routes)',
      'a handler',
    );
  let secure: SecureAggregationRoutes | undefined = options.secureAggregation;
  const sa = resolved.secureAggregation;
  const coordinator = sa
    ? new Coordinator(resolved, emit, (c) => {
        const s = new SecureAggregation(c, sa);
        secure = s;
        return s;
      })
    : new Coordinator(resolved, emit);
  const ctx: RouteContext = {
    coordinator,
    limiter: new RateLimiter(resolved.limits.requestsPerMinute),
    maxJsonBytes: resolved.limits.maxJsonBytes,
    ...(secure ? { secureAggregation: secure } : {}),
    ...(resolved.cors ? { cors: resolved.cors.origins } : {}),
    emit,
  };
  const onRequest = (req: Parameters<typeof handle>[1], res: Parameters<typeof handle>[2]) => {
    handle(ctx, req, res).catch(() => req.destroy());
  };
  const server: Server | Http2SecureServer = tls
    ? createSecureServer({ allowHTTP1: true, cert: tls.cert, key: tls.key }, onRequest)
    : createServer({ requestTimeout: 120_000, headersTimeout: 30_000 }, onRequest);
  // Malformed HTTP, TLS handshakes that fail, HTTP/2 session errors: drop that connection only.
  server.on('clientError', (_err: Error, socket: Socket) => socket.destroy());
  server.on('tlsClientError', () => {});
  server.on('sessionError', () => {});
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  let url = '';
  let listening = false;
  return {
    get url() {
      return url;
    },
    config: resolved,
    coordinator,
    issueTokens: (clients) => issueTokens(coordinator.store, resolved.clients.population, clients),
    revoke: (client) => coordinator.store.revoke(client),
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(resolved.listen.port, resolved.listen.host, () => {
          server.off('error', reject);
          server.on('error', (e: Error) => emit({ type: 'error', message: e.message, fatal: false }));
          listening = true;
          const a = server.address() as AddressInfo;
          const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
          url = `${tls ? 'https' : 'http'}://${host}:${a.port}`;
          emit({ type: 'listening', url });
          coordinator.start();
          resolve(url);
        });
      });
    },
    close() {
      coordinator.stop();
      return new Promise((resolve) => {
        const done = () => {
          coordinator.close();
          resolve();
        };
        if (!listening) {
          done();
          return;
        }
        listening = false;
        server.close(() => done());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
