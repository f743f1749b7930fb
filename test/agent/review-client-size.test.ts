// Adversarial review of the agent's client: a hostile or impersonated server must not be
// able to exhaust the guest's memory with the size of its answers, or hang it with a body
// that never ends.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import { MAX_RESPONSE_BYTES, ServerUnreachable, TesseraClient } from '../../guest-agent/client.ts';
import { startFakeServer, type FakeServer, rejection } from './fake-server.ts';

let server: FakeServer;
const sleep = (): Promise<void> => Promise.resolve();

beforeAll(async () => {
  server = await startFakeServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.before.length = 0;
});

const client = (): TesseraClient => new TesseraClient({ server: server.url, sleep, retries: 0 });

/** A valid JSON answer padded with whitespace past the limit, streamed without a Content-Length. */
function padded(status: number, json: unknown, contentType = 'application/json') {
  return (_req: unknown, _body: string, res: ServerResponse): boolean => {
    res.writeHead(status, { 'content-type': contentType });
    const chunk = ' '.repeat(64 * 1024);
    for (let sent = 0; sent <= MAX_RESPONSE_BYTES; sent += chunk.length) res.write(chunk);
    res.end(JSON.stringify(json));
    return true;
  };
}

describe('answers larger than any protocol answer', () => {
  it('refuses an oversized success body instead of reading it all into memory', async () => {
    server.before.push(padded(200, { challenge: 'c', nonce: Buffer.alloc(32).toString('base64url'), expiresAt: 'x' }));
    const err = await rejection(client().challenge('sev-snp'));
    expect(err).toBeInstanceOf(ServerUnreachable);
    expect((err as Error).message).toMatch(/more than \d+ bytes/);
  });

  it('refuses an oversized error body as well', async () => {
    server.before.push(padded(500, { code: 'internal_error', detail: 'x' }, 'application/problem+json'));
    const err = await rejection(client().challenge('sev-snp'));
    expect(err).toBeInstanceOf(ServerUnreachable);
    expect((err as Error).message).toMatch(/more than \d+ bytes/);
  });

  it('refuses a declared Content-Length over the limit without reading the body', async () => {
    server.before.push((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/jose', 'content-length': String(MAX_RESPONSE_BYTES + 1) });
      res.write('x'); // never finishes: the agent must not wait for the rest
      return true;
    });
    const err = await rejection(new TesseraClient({ server: server.url, sleep, retries: 0, timeoutMs: 5000 }).challenge('sev-snp'));
    expect(err).toBeInstanceOf(ServerUnreachable);
    expect((err as Error).message).toMatch(/more than \d+ bytes/);
  });

  it('cuts off a body that trickles past the timeout, as a server that cannot be reached', async () => {
    server.before.push((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{'); // and nothing more
      return true;
    });
    const err = await rejection(new TesseraClient({ server: server.url, sleep, retries: 0, timeoutMs: 300 }).challenge('sev-snp'));
    expect(err).toBeInstanceOf(ServerUnreachable);
    expect((err as Error).message).toMatch(/cut off/);
  });
});
