// `dpfl serve` as users run it (dist/cli/main.js; `npm run build:ts` first): tokens from
// `dpfl serve token`, a server killed with SIGKILL mid-round, restarted on the same database; the
// round resumes with its stored uploads and the final model equals an uninterrupted run's.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BuiltinModel } from '../../../src/fl/builtin-model.js';
import { FederatedServer } from '../../../src/fl/server.js';
import { baseConfig, client, frameOf, SAMPLES, updateOf } from './helpers.js';
import { killAll, MAIN, serve } from './processes.js';

const dir = mkdtempSync(join(tmpdir(), 'dpfl-serve-'));
afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(MAIN))('dpfl serve (dist): SIGKILL mid-round and restart', () => {
  it('resumes the round after kill -9 and ends with the uninterrupted model', async () => {
    const file = join(dir, 'fl.json');
    const config = { ...baseConfig({ rounds: 2 }), database: 'fl.db' }; // relative: next to the config
    writeFileSync(file, JSON.stringify(config));
    const issued = JSON.parse(
      execFileSync('node', [MAIN, 'serve', 'token', '--config', file, '--clients', '0-3', '--json'], {
        encoding: 'utf8',
      }),
    ) as { client: number; token: string }[];
    expect(issued.map((t) => t.client)).toEqual([0, 1, 2, 3]);
    const tokens = issued.map((t) => t.token);
    expect(existsSync(join(dir, 'fl.db'))).toBe(true);

    const dim = new BuiltinModel({ kind: 'linear', inputDim: 4, input: 'dense', classes: 3 }).dim;
    const up = (url: string, r: number, k: number) =>
      client(url, tokens[k]!).upload(r, frameOf(r, updateOf(dim, r, k), SAMPLES[k]!));
    const selectedIn = async (url: string) => {
      const out: number[] = [];
      for (let k = 0; k < 4; k++) if ((await client(url, tokens[k]!).get('/v1/task')).status === 200) out.push(k);
      return out;
    };

    const a = serve(file);
    let url = (await a.next((e) => e.type === 'listening')).url as string;
    for (let k = 0; k < 4; k++) expect((await client(url, tokens[k]!).register(SAMPLES[k]!)).status).toBe(200);
    await a.next((e) => e.type === 'roundOpened' && e.round === 0);
    for (const k of await selectedIn(url)) expect((await up(url, 0, k)).status).toBe(200);
    await a.next((e) => e.type === 'roundOpened' && e.round === 1);
    const plan1 = await selectedIn(url);
    expect((await up(url, 1, plan1[0]!)).status).toBe(200);
    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');

    const b = serve(file);
    url = (await b.next((e) => e.type === 'listening')).url as string;
    const resumed = await b.next((e) => e.type === 'roundOpened');
    expect(resumed).toMatchObject({ round: 1, resumed: true, replayed: 1 });
    expect(await selectedIn(url)).toEqual(plan1.slice(1));
    expect((await up(url, 1, plan1[0]!)).status).toBe(409);
    for (const k of plan1.slice(1)) expect((await up(url, 1, k)).status).toBe(200);
    await b.next((e) => e.type === 'finished');
    const finalModel = new Float32Array(await (await client(url, tokens[0]!).get('/v1/model?round=2')).arrayBuffer());
    b.child.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);

    const ref = new FederatedServer({
      params: new BuiltinModel({ kind: 'linear', inputDim: 4, input: 'dense', classes: 3 }, 0).init(),
      activity: SAMPLES,
      selection: { method: 'uniform', perRound: 3 },
      seed: 5,
      optimizer: 'fedadam',
    });
    for (let r = 0; r < 2; r++) {
      const plan = ref.beginRound(0);
      for (const k of plan.clients)
        ref.submit({ client: k, round: r, update: updateOf(dim, r, k), samples: SAMPLES[k]! }, 0);
      await ref.endRound();
    }
    expect(finalModel).toEqual(ref.params);

    // Revoking through the CLI: the token answers 401 (no server is running; the database is the truth).
    execFileSync('node', [MAIN, 'serve', 'token', '--config', file, '--revoke', '2'], { stdio: 'pipe' });
    const c = serve(file);
    url = (await c.next((e) => e.type === 'listening')).url as string;
    expect((await client(url, tokens[2]!).get('/v1/status')).status).toBe(401);
    expect((await client(url, tokens[1]!).get('/v1/task')).status).toBe(410);
    c.child.kill('SIGINT');
    expect((await c.exited).code).toBe(0);
  }, 60_000);

  it('refuses a bad config with a typed message and exit code 2', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...baseConfig(), rounds: 0 }));
    let out = '';
    try {
      execFileSync('node', [MAIN, 'serve', '--config', file], { stdio: 'pipe' });
    } catch (error) {
      out = String((error as { stderr: Buffer }).stderr);
      expect((error as { status: number }).status).toBe(2);
    }
    expect(out).toMatch(/config.rounds must be a positive integer/);
    writeFileSync(file, JSON.stringify({ ...baseConfig(), database: 'bad.db' }));
    for (const args of [
      ['--client', '1', '--revoke', '1'],
      ['--client', '9'],
      ['--clients', '1-x'],
    ]) {
      try {
        execFileSync('node', [MAIN, 'serve', 'token', '--config', file, ...args], { stdio: 'pipe' });
        expect.unreachable();
      } catch (error) {
        expect((error as { status: number }).status).toBe(2);
      }
    }
    expect(execFileSync('node', [MAIN, 'serve', '--help'], { encoding: 'utf8' })).toMatch(/usage: dpfl serve/);
  });
});
