// The Retry-After of /v1/task is at most a quarter of a round: a round that closes early (everyone
// reported) opens the next at once, and a client told to wait must poll again well before that
// round's deadline even after its 20% jitter (with the full time to the deadline it could miss it).
import { afterEach, describe, expect, it } from 'vitest';
import type { FlServer } from '../../../src/fl/net/server.js';
import { baseConfig, client, start } from './helpers.js';

const servers: FlServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

describe('createFlServer: poll interval', () => {
  it('caps Retry-After at roundSeconds / 4 (at least 1 s)', async () => {
    for (const [roundSeconds, cap] of [
      [8, 2],
      [2, 1],
      [60, 15],
    ] as const) {
      const s = await start(baseConfig({ roundSeconds, minClients: 4, selection: { method: 'uniform', perRound: 1 } }));
      servers.push(s.server);
      const answers: number[] = [];
      for (let k = 0; k < 4; k++) {
        expect((await client(s.url, s.tokens[k]!).register(10)).status).toBe(200);
        const r = await client(s.url, s.tokens[k]!).get('/v1/task');
        if (r.status === 204) answers.push(Number(r.headers.get('retry-after')));
      }
      expect(answers.length).toBeGreaterThanOrEqual(3); // before round 0 and the unselected ones
      for (const a of answers) {
        expect(a).toBeGreaterThanOrEqual(1);
        expect(a).toBeLessThanOrEqual(cap);
      }
    }
  });
});
