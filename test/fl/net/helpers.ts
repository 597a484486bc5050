// Test helpers for the network server: a tiny config, a fetch-based client, deterministic updates.
import { encodeFrame } from '../../../src/fl/client/wire.js';
import type { FlServerConfig } from '../../../src/fl/net/config.js';
import type { FlEvent } from '../../../src/fl/net/coordinator.js';
import { createFlServer, type FlServer } from '../../../src/fl/net/server.js';
import { randomFloats } from '../../reference/kernels.js';

export const POPULATION = 4;
export const SAMPLES = [30, 10, 20, 40];

export function baseConfig(o: Partial<FlServerConfig> = {}): FlServerConfig {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    database: ':memory:',
    model: { kind: 'linear', inputDim: 4, input: 'dense', classes: 3 },
    clients: { population: POPULATION, activity: SAMPLES },
    selection: { method: 'uniform', perRound: 3 },
    seed: 5,
    rounds: 3,
    roundSeconds: 30,
    minClients: POPULATION,
    training: { epochs: 1, batchSize: 8, lr: 0.1, mu: 0 },
    optimizer: 'fedadam',
    ...o,
  };
}

/** The update client k sends in round r (deterministic). */
export const updateOf = (dim: number, round: number, k: number) => randomFloats(dim, 1000 * round + k + 1);

export async function start(
  config: FlServerConfig,
  events: FlEvent[] = [],
): Promise<{ server: FlServer; url: string; tokens: string[] }> {
  const server = createFlServer(config, { onEvent: (e) => events.push(e) });
  const tokens = server.issueTokens([...Array(config.clients.population).keys()]).map((t) => t.token);
  const url = await server.listen();
  return { server, url, tokens };
}

export function client(url: string, token: string) {
  const auth = { authorization: `Bearer ${token}` };
  return {
    get: (path: string) => fetch(`${url}${path}`, { headers: auth }),
    post: (path: string, body: unknown) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    register: (samples: number) =>
      fetch(`${url}/v1/register`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ samples }),
      }),
    upload: (round: number, body: Uint8Array) =>
      fetch(`${url}/v1/update?round=${round}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        body,
      }),
  };
}

export const frameOf = (round: number, update: Float32Array, samples: number) =>
  encodeFrame({ kind: 'float32', round, samples, payload: update });

/** Waits until cond() holds (polling), failing after ms. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
