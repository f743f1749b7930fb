// The body limit holds whichever way the length is told: by Content-Length (judged before a
// byte of the body is read) or by chunked transfer coding (counted as it streams). A body
// within the limit reaches the route unchanged. And the connection limit: connections beyond
// maxConnections are closed on arrival.

import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startServer, type TestServer } from './helpers.ts';

const LIMIT = 4096;
let srv: TestServer;

beforeAll(async () => {
  srv = await startServer({ config: { bodyLimit: LIMIT } });
}, 120_000);

afterAll(async () => {
  await srv?.stop();
  if (srv) removeDir(srv.dataDir);
});

/** POST /v1/challenge with `chunks` written one by one; chunked unless `contentLength` is given. */
function post(chunks: string[], contentLength?: number): Promise<{ status: number; body: { code?: string; tee?: string } }> {
  const url = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (contentLength !== undefined) headers['content-length'] = contentLength;
    const req = request({ host: url.hostname, port: url.port, path: '/v1/challenge', method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { code?: string } }));
    });
    // The server may answer 413 and close before the whole body is written.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('body limit', () => {
  const small = JSON.stringify({ tee: 'sev-snp' });
  const big = JSON.stringify({ tee: 'sev-snp', pad: 'x'.repeat(LIMIT) });

  it('a Content-Length over the limit is 413 body_too_large', async () => {
    const res = await post([big], Buffer.byteLength(big));
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('body_too_large');
  });

  it('a chunked body that grows past the limit is 413 body_too_large', async () => {
    const half = 'x'.repeat(LIMIT / 2);
    const res = await post([`{"tee":"sev-snp","pad":"${half}`, half, `${half}"}`]);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('body_too_large');
  });

  it('bodies within the limit reach the route, with a length or chunked', async () => {
    for (const res of [await post([small], Buffer.byteLength(small)), await post(['{"tee":', '"sev-snp"}'])]) {
      expect(res.status).toBe(200);
      expect(res.body).toHaveProperty('challenge');
    }
  });
});

describe('connection limit', () => {
  it('closes connections beyond maxConnections on arrival, and serves the ones within it', async () => {
    const limited = await startServer({ config: { maxConnections: 2 } });
    try {
      const url = new URL(limited.url);
      const open = () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect(Number(url.port), url.hostname, () => resolve(s));
          s.once('error', reject);
        });
      const held = [await open(), await open()];
      // The third is accepted by the kernel, then closed by the server before it answers.
      const third = await open();
      const outcome = await new Promise<string>((resolve) => {
        let text = '';
        third.on('data', (d: Buffer) => (text += d.toString('utf8')));
        third.on('close', () => resolve(text === '' ? 'closed' : text));
        third.on('error', () => undefined);
        third.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      expect(outcome).toBe('closed');
      // A connection within the bound is served.
      held[0]!.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        held[0]!.on('data', (d: Buffer) => (text += d.toString('utf8')));
        held[0]!.on('close', () => resolve(text));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 200/);
      for (const s of held) s.destroy();
    } finally {
      await limited.stop();
      removeDir(limited.dataDir);
    }
  }, 120_000);
});
