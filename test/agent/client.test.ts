// The protocol client against a fake server on 127.0.0.1: the whole flow with the
// simulator (binding checked by the server side), retries with Retry-After on 503 and 429,
// backoff on network errors, timeouts, and the messages made of problem+json answers.

import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentError, formatProblem, generateTeeKey, retryAfterMs, ServerProblem, ServerUnreachable, TesseraClient } from '../../guest-agent/client.ts';
import { SimulatorProvider } from '../../guest-agent/providers/simulator.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { encryptTo, problem, startFakeServer, type FakeServer, rejection } from './fake-server.ts';

let chain: SimulatorChain;
let server: FakeServer;
const sleeps: number[] = [];
const sleep = (ms: number): Promise<void> => {
  sleeps.push(ms);
  return Promise.resolve();
};

beforeAll(async () => {
  chain = await createSimulatorChain({ now: new Date('2026-03-01T00:00:00Z'), rsaBits: 2048 });
  server = await startFakeServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.before.length = 0;
  server.requests.length = 0;
  sleeps.length = 0;
});

const client = (extra: Partial<ConstructorParameters<typeof TesseraClient>[0]> = {}): TesseraClient => new TesseraClient({ server: server.url, sleep, ...extra });

describe('attest flow', () => {
  it('binds the evidence to the nonce and a fresh TEE key, and decrypts released secrets (SEV-SNP)', async () => {
    const outcome = await client().attest(new SimulatorProvider({ chain }), { release: ['demo'] });
    expect(outcome.status).toBe('affirming');
    expect(outcome.policy).toBe('dev v3');
    expect(Buffer.from(outcome.secrets.get('demo')!).toString()).toBe('the demo secret');
    // A later GET with the token, opened with the same TEE key.
    const again = await client().getSecret(outcome.token, 'demo', outcome.teeKey.privateKey);
    expect(Buffer.from(again).toString()).toBe('the demo secret');
    expect(server.requests.at(-1)).toMatchObject({ method: 'GET', path: '/v1/secrets/demo', authorization: `Bearer ${outcome.token}` });
  });

  it('works the same with the TDX simulator', async () => {
    const outcome = await client().attest(new SimulatorProvider({ chain, tee: 'tdx' }), { release: ['demo'] });
    expect(outcome.tee).toBe('tdx');
    expect(Buffer.from(outcome.secrets.get('demo')!).toString()).toBe('the demo secret');
  });

  it('runs one more round with a fresh challenge when the first one was consumed', async () => {
    let first = true;
    server.before.push((req, _body, res) => {
      if (req.url === '/v1/attest' && first) {
        first = false;
        problem(res, 400, 'challenge_replayed', 'This challenge was already used.');
        return true;
      }
      return false;
    });
    const outcome = await client().attest(new SimulatorProvider({ chain }));
    expect(outcome.status).toBe('affirming');
    expect(server.requests.filter((r) => r.path === '/v1/challenge')).toHaveLength(2);
  });

  it('asks by name for a secret the attest answer does not carry, and reports the server\'s reason', async () => {
    server.secrets.set('prod-key', 'nope');
    server.denied.add('prod-key');
    const err = await rejection(client().attest(new SimulatorProvider({ chain }), { release: ['demo', 'prod-key'] }));
    expect(err).toBeInstanceOf(ServerProblem);
    expect((err as ServerProblem).denied).toBe(true);
    expect((err as ServerProblem).code).toBe('release_denied');
    expect((err as ServerProblem).message).toContain('- release: claims.measurement in refs.web_prod is false.');
    expect(server.requests.at(-1)?.path).toBe('/v1/secrets/prod-key');
    server.denied.clear();
    const missing = await rejection(client().attest(new SimulatorProvider({ chain }), { release: ['absent'] }));
    expect((missing as ServerProblem).code).toBe('secret_not_found');
  });

  it('refuses a secret encrypted to another key', async () => {
    const outcome = await client().attest(new SimulatorProvider({ chain }));
    const other = generateTeeKey();
    server.before.push(async (req, _body, res) => {
      if (!req.url?.startsWith('/v1/secrets/')) return false;
      res.writeHead(200, { 'content-type': 'application/jose' });
      res.end(await encryptTo(other.publicJwk, 'not for you'));
      return true;
    });
    const err = await rejection(client().getSecret(outcome.token, 'demo', outcome.teeKey.privateKey));
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe('secret_undecryptable');
  });
});

describe('retries', () => {
  it('honours Retry-After on 503 and on 429 (seconds and HTTP-date), then succeeds', async () => {
    let n = 0;
    server.before.push((req, _body, res) => {
      if (req.url !== '/v1/challenge' || n++ >= 2) return false;
      if (n === 1) problem(res, 503, 'collateral_unavailable', 'AMD KDS is down.', {}, { 'retry-after': '3' });
      else problem(res, 429, 'rate_limited', 'Slow down.', {}, { 'retry-after': new Date(Date.now() + 5_000).toUTCString() });
      return true;
    });
    const ch = await client().challenge('sev-snp');
    expect(Buffer.from(ch.nonce, 'base64url')).toHaveLength(32);
    expect(sleeps[0]).toBe(3000);
    expect(sleeps[1]).toBeGreaterThan(3000);
    expect(sleeps[1]).toBeLessThanOrEqual(5000);
    expect(server.requests.filter((r) => r.path === '/v1/challenge')).toHaveLength(3);
  });

  it('gives up after the configured retries with the last problem, and caps each wait', async () => {
    server.before.push((_req, _body, res) => {
      problem(res, 503, 'collateral_unavailable', 'Intel PCS is down.', {}, { 'retry-after': '3600' });
      return true;
    });
    const err = await rejection(client({ retries: 2, maxDelayMs: 10_000 }).challenge('tdx'));
    expect(err).toBeInstanceOf(ServerProblem);
    expect((err as ServerProblem).code).toBe('collateral_unavailable');
    expect((err as ServerProblem).denied).toBe(false);
    expect(sleeps).toEqual([10_000, 10_000]);
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry a denial', async () => {
    server.before.push((_req, _body, res) => {
      problem(res, 403, 'attestation_denied', 'Refused by policy "prod".');
      return true;
    });
    await rejection(client().challenge('sev-snp'));
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('backs off exponentially on connection errors and says the server is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await rejection(new TesseraClient({ server: `http://127.0.0.1:${port}`, sleep, retries: 3, backoffMs: 100 }).challenge('sev-snp'));
    expect(err).toBeInstanceOf(ServerUnreachable);
    expect((err as Error).message).toMatch(/connection refused, after 4 attempts/);
    expect(sleeps).toHaveLength(3);
    // Jittered within [ceiling/2, ceiling] of 100, 200, 400 ms.
    sleeps.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(50 * 2 ** i);
      expect(ms).toBeLessThanOrEqual(100 * 2 ** i);
    });
  });

  it('times out a server that does not answer', async () => {
    server.before.push(() => true); // never answers
    const err = await rejection(client({ timeoutMs: 200, retries: 1 }).challenge('sev-snp'));
    expect(err).toBeInstanceOf(ServerUnreachable);
    expect((err as Error).message).toContain('no answer within 200 ms');
  });
});

describe('problem messages', () => {
  it('puts the detail, the code, every failed check and a hint in the message', async () => {
    server.before.push((_req, _body, res) => {
      problem(res, 403, 'attestation_denied', 'The evidence does not satisfy policy "prod" v2.', {
        checks: [
          { id: 'snp.report.signature', ok: true, detail: 'fine' },
          { id: 'policy.measurement', ok: false, detail: 'MEASUREMENT is not allowed.', expected: ['aa'], found: 'bb' },
        ],
      });
      return true;
    });
    const err = (await rejection(client().challenge('sev-snp'))) as ServerProblem;
    expect(err.status).toBe(403);
    expect(err.message).toBe(
      [
        'The evidence does not satisfy policy "prod" v2. [HTTP 403, attestation_denied]',
        '  - policy.measurement: MEASUREMENT is not allowed. (expected ["aa"], found "bb")',
        '  hint: The evidence was verified against the appraisal policy and refused; the failed checks say why.',
      ].join('\n'),
    );
  });

  it('explains a non-JSON error body and an unknown code by their status', async () => {
    server.before.push((_req, _body, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>Bad gateway</html>');
      return true;
    });
    const err = (await rejection(client().challenge('sev-snp'))) as ServerProblem;
    expect(err.code).toBe('http_502');
    expect(err.message).toContain('The server answered HTTP 502: <html>Bad gateway</html>');
    expect(formatProblem(400, 'snp_report_length', 'The report is 1000 bytes.')).toContain('could not parse the evidence');
  });

  it('has a hint for every code the server defines', () => {
    for (const code of ['challenge_expired', 'challenge_replayed', 'challenge_forged', 'challenge_malformed', 'challenge_tee_mismatch', 'evidence_invalid', 'evidence_missing', 'evidence_collateral_refused', 'request_invalid', 'tee_public_key_invalid', 'collateral_unavailable', 'no_active_policy', 'policy_not_found', 'attestation_denied', 'rate_limited', 'server_busy', 'database_unavailable', 'token_missing', 'token_invalid', 'token_expired', 'token_unknown_key', 'release_denied', 'secret_not_found', 'secret_name_invalid', 'store_corrupt', 'store_unavailable', 'body_too_large', 'malformed_json', 'unsupported_media_type', 'internal_error']) {
      expect(formatProblem(400, code, 'x'), code).toContain('hint:');
    }
  });

  it('reads Retry-After in both forms', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T07:27:00Z'))).toBe(60_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('rejects a server URL that is not http(s)', () => {
    expect(() => new TesseraClient({ server: 'ftp://x' })).toThrow(/http\(s\) URL/);
    expect(() => new TesseraClient({ server: 'not a url' })).toThrow(/must be a URL/);
  });
});
