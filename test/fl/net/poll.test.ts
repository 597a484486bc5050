// The Retry-After of /v1/task is at most pollSeconds (default 1): a round that closes early
// (everyone reported) opens the next at once, and a client told to wait for the old round's
// deadline would miss the new one.
import { afterEach, describe, expect, it } from 'vitest';
import type { FlServer } from '../../../src/fl/net/server.js';
import { baseConfig, client, start } from './helpers.js';

const servers: FlServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

describe('createFlServer: poll interval', () => {
  it('answers idle clients with Retry-After ≤ pollSeconds, whatever the round length', async () => {
    for (const [roundSeconds, pollSeconds] of [
      [8, undefined],
      [60, 3],
      [300, 0.25],
    ] as const) {
      const config = baseConfig({ roundSeconds, minClients: 4, selection: { method: 'uniform', perRound: 1 } });
      const s = await start(pollSeconds === undefined ? config : { ...config, pollSeconds });
      servers.push(s.server);
      const answers: number[] = [];
      for (let k = 0; k < 4; k++) {
        expect((await client(s.url, s.tokens[k]!).register(10)).status).toBe(200);
        const r = await client(s.url, s.tokens[k]!).get('/v1/task');
        if (r.status === 204) answers.push(Number(r.headers.get('retry-after')));
      }
      expect(answers.length).toBeGreaterThanOrEqual(3); // before round 0 and the unselected ones
      for (const a of answers) {
        expect(a).toBeGreaterThan(0);
        expect(a).toBeLessThanOrEqual(pollSeconds ?? 1);
      }
    }
  });
});
