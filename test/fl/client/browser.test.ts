// dpfl/fl/client in a real browser (Debian's chromium driven by playwright-core): a page served from
// one origin (dist/ and test/fl/browser/ as plain ES modules, an import map for bare packages) joins
// the fake coordinator on another origin, trains two rounds of a plain-JS softmax regression, and
// uploads frames the coordinator checks (magic, dim, length, CRC-32). Cross-origin, so the
// coordinator must answer CORS preflights and expose x-dpfl-crc32 and retry-after.
// Needs `npm run build:ts` (dist/) and /usr/bin/chromium; skipped with a message without chromium.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    web?.server.close();
  });

  async function runPage(coordinator: string, token: string) {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m: { text(): string }) => logs.push(m.text()));
    page.on('pageerror', (e: Error) => logs.push(e.message));
    const query = new URLSearchParams({ coordinator, token });
    await page.goto(`${web.url}/test/fl/browser/index.html?${query}`);
    await page.waitForFunction(() => (globalThis as { result?: unknown }).result !== undefined, null, {
      timeout: 30_000,
    });
    const result = await page.evaluate(() => (globalThis as { result?: unknown }).result);
    await page.close();
    return { result: result as Record<string, unknown>, logs };
  }

  it.skipIf(!hasChromium)('joins a cross-origin coordinator, trains and uploads valid frames', async () => {
    expect(existsSync(join(root, 'dist/fl/client/index.js')), 'run `npm run build:ts` first').toBe(true);
    const fake = await startFakeCoordinator({ dim: 18, rounds: 2, tokens: { 'web.7': 7 }, evaluate: true });
    try {
      const { result, logs } = await runPage(fake.url, 'web.7');
      expect(result, logs.join('\n')).toMatchObject({
        summary: { client: 7, rounds: 2, accepted: 2, refused: 0, evaluations: 2, stopped: 'finished' },
        crypto: 'function',
      });
      expect(fake.registered.get(7)).toBe(60);
      expect(fake.badFrames).toEqual([]);
      expect(fake.uploads.map((u) => [u.client, u.round, u.kind, u.samples, u.payload.length])).toEqual([
        [7, 0, 'float32', 60, 18],
        [7, 1, 'float32', 60, 18],
      ]);
      for (const u of fake.uploads) expect(Array.from(u.payload).some((v) => v !== 0)).toBe(true);
      expect(fake.evaluations.map((e) => [e.round, e.samples, Object.keys(e.metrics).sort()])).toEqual([
        [0, 60, ['accuracy', 'loss']],
        [1, 60, ['accuracy', 'loss']],
      ]);
      // Round 0 starts from zeros: loss ln 3; round 1 starts from a trained model.
      expect(fake.evaluations[0]!.metrics.loss).toBeCloseTo(Math.log(3), 5);
      expect(fake.evaluations[1]!.metrics.loss).toBeLessThan(Math.log(3));
      expect(fake.requests).toContain('GET /v1/model');
    } finally {
      await fake.close();
    }
  });

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
