// CORS of createFlServer (config.cors): preflights answered 204 without a token; the allowed origin
// echoed (Vary: Origin) on every answer, refusals included; the headers the client reads exposed;
// nothing for another origin or without config.cors; '*' for any page; bad config refused.
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/fl/net/config.js';
import type { FlServer } from '../../../src/fl/net/server.js';
import { baseConfig, start } from './helpers.js';

const PAGE = 'http://127.0.0.1:5173';
const servers: FlServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

async function started(cors?: { origins: string[] | '*' }) {
  const s = await start(baseConfig({ minClients: 1, ...(cors ? { cors } : {}) }));
  servers.push(s.server);
  return s;
}

const preflight = (url: string, origin: string, method = 'POST') =>
  fetch(`${url}/v1/update?round=0`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization, content-type',
    },
  });

describe('createFlServer: CORS', () => {
  it('answers a preflight from an allowed origin with 204, without a token', async () => {
    const { url } = await started({ origins: [PAGE, 'https://app.example.org'] });
    const r = await preflight(url, PAGE);
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(r.headers.get('vary')).toBe('Origin');
    expect(r.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
    expect(r.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect(Number(r.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(await r.text()).toBe('');
  });

  it('echoes the origin and exposes x-dpfl-crc32 and retry-after on answers and refusals', async () => {
    const { url, tokens } = await started({ origins: [PAGE] });
    const auth = { authorization: `Bearer ${tokens[0]}`, origin: PAGE };
    const register = await fetch(`${url}/v1/register`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ samples: 30 }),
    });
    expect(register.status).toBe(200);
    for (const r of [
      register,
      await fetch(`${url}/v1/model?round=0`, { headers: auth }),
      await fetch(`${url}/v1/status`, { headers: { origin: PAGE } }), // 401: a page must read it too
      await fetch(`${url}/v1/nowhere`, { headers: auth }), // 404
    ]) {
      expect(r.headers.get('access-control-allow-origin')).toBe(PAGE);
      expect(r.headers.get('access-control-expose-headers')).toBe('x-dpfl-crc32, retry-after');
      expect(r.headers.get('vary')).toBe('Origin');
    }
  });

  it('allows nothing to another origin, or without config.cors', async () => {
    const { url, tokens } = await started({ origins: [PAGE] });
    const other = await preflight(url, 'http://evil.example');
    expect(other.status).toBe(204);
    expect(other.headers.get('access-control-allow-origin')).toBe(null);
    expect(other.headers.get('access-control-allow-methods')).toBe(null);
    expect(other.headers.get('vary')).toBe('Origin');
    const task = await fetch(`${url}/v1/task`, {
      headers: { authorization: `Bearer ${tokens[0]}`, origin: 'http://evil.example' },
    });
    expect(task.headers.get('access-control-allow-origin')).toBe(null);

    const plain = await started();
    const p = await preflight(plain.url, PAGE);
    expect(p.status).toBe(204);
    expect(p.headers.get('access-control-allow-origin')).toBe(null);
    expect(p.headers.get('allow')).toBe('GET, POST, OPTIONS');
    const s = await fetch(`${plain.url}/v1/status`, { headers: { authorization: `Bearer ${plain.tokens[0]}` } });
    expect(s.status).toBe(200);
    expect(s.headers.get('access-control-allow-origin')).toBe(null);
    expect(s.headers.get('vary')).toBe(null);
  });

  it("'*' allows any page (the token still decides), without Vary", async () => {
    const { url, tokens } = await started({ origins: '*' });
    const r = await preflight(url, 'http://anywhere.example:8080', 'GET');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    const s = await fetch(`${url}/v1/status`, {
      headers: { authorization: `Bearer ${tokens[1]}`, origin: 'http://anywhere.example:8080' },
    });
    expect(s.status).toBe(200);
    expect(s.headers.get('access-control-allow-origin')).toBe('*');
    expect(s.headers.get('vary')).toBe(null);
  });

  it('refuses a bad cors config naming the field', () => {
    const bad = (cors: unknown) => () => resolveConfig(baseConfig({ cors: cors as { origins: '*' } }));
    expect(bad(['x'])).toThrow(/config.cors must be an object/);
    expect(bad({ origins: 'http://a.example' })).toThrow(/config.cors.origins must be an array/);
    expect(bad({ origins: ['http://a.example/app'] })).toThrow(/config.cors.origins\[0\] must be an origin/);
    expect(bad({ origins: ['ftp://a.example'] })).toThrow(/config.cors.origins\[0\] must be an origin/);
    expect(bad({ origins: [PAGE, 3] })).toThrow(/config.cors.origins\[1\] must be a string/);
    expect(bad({ origins: '*', extra: 1 })).toThrow(/config.cors must be free of unknown fields/);
    expect(resolveConfig(baseConfig({ cors: { origins: [PAGE] } })).cors).toEqual({ origins: [PAGE] });
  });
});
