// dpfl/fl/client in a real browser (Debian's chromium driven by playwright-core): a page served from
// one origin (dist/ and test/fl/browser/ as plain ES modules, an import map for bare packages) joins
// the real server (createFlServer, config.cors listing the page's origin) on another origin, trains
// two rounds of a plain-JS softmax regression, uploads, and evaluates the global model when asked;
// the server's model is then the one the same rounds computed in Node predict, bit for bit. The
// fake coordinator stays for what the real server never does (a missing Expose-Headers).
// Needs `npm run build:ts` (dist/) and /usr/bin/chromium; skipped with a message without chromium.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../../src/data/random.js';
import { syntheticDense } from '../../../src/data/synthetic.js';
import { FederatedClient } from '../../../src/fl/client.js';
import type { FlEvent } from '../../../src/fl/net/coordinator.js';
import { createFlServer } from '../../../src/fl/net/server.js';
import { FederatedServer } from '../../../src/fl/server.js';
// @ts-expect-error: the page's plain-JS model (no types)
import { Logistic } from '../browser/logistic.js';
import { startFakeCoordinator } from './fake-coordinator.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`browser test skipped: ${CHROMIUM} is absent (apt-get install chromium)`);

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html' };
const SERVED = ['dist/', 'test/fl/browser/', 'node_modules/@noble/', 'node_modules/shamir-secret-sharing/'];

/** Serves the page, dist/ and the browser packages from the repository, nothing else. */
async function staticServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '');
    const file = join(root, path);
    if (!SERVED.some((p) => path.startsWith(p)) || !existsSync(file) || !extname(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('dpfl/fl/client in chromium', () => {
  let web: { url: string; server: Server };
  // biome-ignore lint/suspicious/noExplicitAny: playwright-core's Browser, loaded only when chromium exists
  let browser: any;

  beforeAll(async () => {
    if (!hasChromium) return;
    web = await staticServer();
    const { chromium } = await import('playwright-core');
    // Without the sanitizer runtime scripts/test-asan.sh preloads for the addon: Chromium is not
    // built for it (and the browser never loads dpfl's addon).
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k, v]) => v !== undefined && !/^(LD_PRELOAD|ASAN_|UBSAN_)/.test(k)),
    ) as Record<string, string>;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], env });
  });

  afterAll(async () => {
    await browser?.close();
    web?.server.close();
  });

  async function runPage(coordinator: string, token: string, seed?: number) {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m: { text(): string }) => logs.push(m.text()));
    page.on('pageerror', (e: Error) => logs.push(e.message));
    const query = new URLSearchParams({ coordinator, token, ...(seed !== undefined ? { seed: String(seed) } : {}) });
    await page.goto(`${web.url}/test/fl/browser/index.html?${query}`);
    await page.waitForFunction(() => (globalThis as { result?: unknown }).result !== undefined, null, {
      timeout: 30_000,
    });
    const result = await page.evaluate(() => (globalThis as { result?: unknown }).result);
    await page.close();
    return { result: result as Record<string, unknown>, logs };
  }

  it.skipIf(!hasChromium)(
    'completes rounds of the real server cross-origin; its model is the predicted one',
    async () => {
      expect(existsSync(join(root, 'dist/fl/client/index.js')), 'run `npm run build:ts` first').toBe(true);
      // One client (the page) selected every round, so no round waits for its deadline.
      const training = { epochs: 2, batchSize: 8, lr: 0.5, mu: 0 };
      const rules = {
        selection: { method: 'uniform' as const, perRound: 1 },
        seed: 3,
        optimizer: 'fedavgm' as const,
        optimizerOptions: { lr: 1, momentum: 0.5 },
      };
      const events: FlEvent[] = [];
      const server = createFlServer(
        {
          listen: { host: '127.0.0.1', port: 0 },
          database: ':memory:',
          model: { dim: 18, init: 'zeros' },
          clients: { population: 1, activity: [60] },
          ...rules,
          rounds: 2,
          roundSeconds: 20,
          training,
          evaluateEvery: 1,
          cors: { origins: [web.url] },
        },
        { onEvent: (e) => events.push(e) },
      );
      const [page] = server.issueTokens([0]);
      const url = await server.listen();
      try {
        const { result, logs } = await runPage(url, page!.token, 9);
        expect(result, logs.join('\n')).toMatchObject({
          summary: { client: 0, rounds: 2, accepted: 2, refused: 0, evaluations: 2, stopped: 'finished' },
          crypto: 'function',
        });
        const closed = events.flatMap((e) => (e.type === 'roundClosed' ? [e] : []));
        expect(closed.map((e) => [e.round, e.report.accepted, e.report.applied])).toEqual([
          [0, 1, true],
          [1, 1, true],
        ]);
        // The same rounds in Node: the page's model, data and seeded stream (joinFederation's seed is
        // simulate()'s stream of client 0 in round r), the server's rules. The page moved the
        // server's model exactly there.
        const ref = new FederatedServer({ params: new Float32Array(18), activity: [60], ...rules, deadline: 20 });
        const data = syntheticDense({ size: 90, dim: 5, classes: 3, seed: 11 });
        const examples = Int32Array.from({ length: 60 }, (_, i) => i);
        const local = new FederatedClient(0, new Logistic(5, 3), data, () => examples, training);
        for (let r = 0; r < 2; r++) {
          const plan = ref.beginRound(0);
          const rng = Random.derive(9, 3, r, 0);
          rng.next();
          expect(ref.submit(await local.train(plan.params, r, rng), 0)).toBe('accepted');
          await ref.endRound();
        }
        const params = server.coordinator.server.params;
        expect(Array.from(params).some((v) => v !== 0)).toBe(true);
        expect(params).toEqual(ref.params);
        // Federated evaluation from the page, before it trains: round 0 from zeros (loss ln 3).
        expect(closed.map((e) => [e.evaluation?.clients, e.evaluation?.samples])).toEqual([
          [1, 60],
          [1, 60],
        ]);
        expect(closed[0]!.evaluation!.metrics.loss).toBeCloseTo(Math.log(3), 5);
        expect(closed[1]!.evaluation!.metrics.loss).toBeLessThan(Math.log(3));
        expect(closed[1]!.evaluation!.metrics.accuracy).toBeGreaterThan(0);
      } finally {
        await server.close();
      }
    },
  );

  it.skipIf(!hasChromium)(
    'says which header is missing when the coordinator does not expose x-dpfl-crc32',
    async () => {
      const fake = await startFakeCoordinator({
        dim: 18,
        rounds: 1,
        tokens: { 'web.7': 7 },
        cors: { 'access-control-expose-headers': 'retry-after' },
      });
      try {
        const { result } = await runPage(fake.url, 'web.7');
        expect(result.error).toMatchObject({ name: 'FederationError', code: 'ERR_DPFL_PROTOCOL' });
        expect((result.error as { message: string }).message).toMatch(/Access-Control-Expose-Headers/);
      } finally {
        await fake.close();
      }
    },
  );
});
