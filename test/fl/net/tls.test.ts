// HTTPS: with tls { cert, key } the server speaks HTTP/2 (and HTTP/1.1 by ALPN fallback) over TLS.
// The certificate is self-signed, made here with openssl (skipped with a message without it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FlServer } from '../../../src/fl/net/server.js';
import { baseConfig, frameOf, start, until, updateOf } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dpfl-tls-'));
let openssl = true;
try {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'pipe' },
  );
} catch {
  openssl = false;
  console.warn('tls.test.ts: openssl is missing or failed; the HTTPS test is skipped');
}
let server: FlServer | undefined;
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!openssl)('createFlServer over TLS', () => {
  it('answers HTTP/2 and HTTP/1.1 clients that trust the certificate', async () => {
    const config = baseConfig({
      minClients: 1,
      selection: { method: 'uniform', perRound: 4 },
      tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') },
    });
    const s = await start(config);
    server = s.server;
    expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(join(dir, 'cert.pem'));
    const auth = `Bearer ${s.tokens[0]}`;
    // HTTP/2
    const session = connect(s.url, { ca });
    const h2 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = session.request({ ':path': '/v1/status', authorization: auth });
      let body = '';
      let status = 0;
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (d) => (body += d));
      req.on('end', () => resolve({ status, body }));
      req.on('error', reject);
      req.end();
    });
    // An oversized JSON body over HTTP/2: 413 at once, the stream closed without reading the rest.
    const big = await new Promise<number>((resolve, reject) => {
      const req = session.request({
        ':path': '/v1/register',
        ':method': 'POST',
        authorization: auth,
        'content-length': String(2 ** 30),
      });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
      req.write(new Uint8Array(1024));
    });
    expect(big).toBe(413);
    // A whole round over HTTP/2: register (minClients 1), task, model, upload.
    const h2req = (headers: Record<string, string>, body?: Uint8Array) =>
      new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        const req = session.request({ authorization: auth, ...headers });
        const chunks: Buffer[] = [];
        let status = 0;
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('data', (d: Buffer) => chunks.push(d));
        req.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
        req.on('error', reject);
        req.end(body);
      });
    const reg = await h2req({ ':path': '/v1/register', ':method': 'POST' }, new TextEncoder().encode('{"samples":30}'));
    expect(reg.status).toBe(200);
    await until(() => s.server.coordinator.state === 'open');
    const task = await h2req({ ':path': '/v1/task' });
    expect(task.status).toBe(200); // everyone is selected
    const round = JSON.parse(task.body.toString()).round as number;
    const model = await h2req({ ':path': `/v1/model?round=${round}` });
    expect(model.body.length).toBe(4 * 15);
    const up = await h2req(
      { ':path': `/v1/update?round=${round}`, ':method': 'POST' },
      frameOf(round, updateOf(15, 0, 0), 30),
    );
    expect([up.status, JSON.parse(up.body.toString())]).toEqual([200, { status: 'accepted', round }]);
    session.close();
    expect(h2.status).toBe(200);
    expect(JSON.parse(h2.body)).toMatchObject({ protocol: 1, roundsTotal: 3 });
    // HTTP/1.1 (ALPN fallback), and a register through it.
    const h1 = await new Promise<{ status: number; body: string; version: string }>((resolve, reject) => {
      const u = new URL(s.url);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: '/v1/register',
          method: 'POST',
          ca,
          headers: { authorization: auth, 'content-type': 'application/json' },
        },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body, version: res.httpVersion }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ samples: 30 }));
    });
    expect(h1.version).toBe('1.1');
    expect(h1.status).toBe(200);
    expect(JSON.parse(h1.body)).toEqual({ protocol: 1, client: 0, dim: 15 });
    // A client that does not trust the certificate never gets an answer.
    await expect(fetch(`${s.url}/v1/status`, { headers: { authorization: auth } })).rejects.toThrow();
  });
});
