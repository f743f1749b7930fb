/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// Security review: every route that takes an API token, enumerated from the OpenAPI document
// itself (so a new route cannot slip past this file), with the scope it needs. For each:
// no token is 401 and audited, a revoked token is 401 token_revoked, a token of the wrong
// scope is 403 and audited, and the right scope gets past authentication. A route that
// declares no security must be one of the public ones listed here.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_RATE_LIMITS, startServer, stopServer, type TestServer } from './helpers.ts';

let srv: TestServer;
let auditor: string;
let revokedAdmin: string;

/** Every operation declared with bearerAuth, and the API-token scope it needs. */
const SCOPED: Record<string, 'admin' | 'auditor'> = {
  'PUT /v1/secrets/{name}': 'admin',
  'GET /v1/secrets': 'admin',
  'DELETE /v1/secrets/{name}': 'admin',
  'POST /v1/tokens': 'admin',
  'GET /v1/tokens': 'admin',
  'DELETE /v1/tokens/{id}': 'admin',
  'POST /v1/keys/rotate': 'admin',
  'PUT /v1/policies/{name}': 'admin',
  'POST /v1/policies/{name}/activate': 'admin',
  'PUT /v1/reference-values/{name}': 'admin',
  'GET /v1/policies': 'auditor',
  'GET /v1/policies/{name}': 'auditor',
  'POST /v1/policies/evaluate': 'auditor',
  'POST /v1/policies/replay': 'auditor',
  'POST /v1/policies/what-if': 'auditor',
  'GET /v1/fleet': 'auditor',
  'GET /v1/reference-values': 'auditor',
  'GET /v1/reference-values/{name}': 'auditor',
  'GET /v1/audit': 'auditor',
  'GET /v1/audit/verify': 'auditor',
  'GET /v1/audit/head': 'auditor',
  'GET /v1/attestations': 'auditor',
  'GET /v1/attestations/stats': 'auditor',
  'GET /v1/attestations/{id}': 'auditor',
  'POST /v1/attestations/{id}/evaluate': 'auditor',
  'POST /v1/sessions': 'auditor',
  'DELETE /v1/sessions/current': 'auditor',
  'GET /v1/keys': 'auditor',
  'GET /v1/collateral': 'auditor',
};
/** Declared with bearerAuth, but the bearer is an attestation result, not an API token (test/secrets covers it). */
const RESULT_TOKEN = ['GET /v1/secrets/{name}'];
/** No credential at all. */
const PUBLIC = ['POST /v1/challenge', 'POST /v1/attest', 'GET /.well-known/jwks.json', 'GET /healthz', 'GET /readyz', 'GET /metrics'];

const concrete = (path: string) => path.replace('{name}', 'review-x').replace('{id}', '0123456789abcdef');

async function call(op: string, token?: string) {
  const [method, path] = op.split(' ') as [string, string];
  const hasBody = method === 'PUT' || method === 'POST';
  return srv.call(method, concrete(path), { ...(token ? { token } : {}), ...(hasBody ? { body: {} } : {}) });
}

async function lastAuthFailure(): Promise<any> {
  return (await srv.call('GET', '/v1/audit?action=auth.failure&limit=1', { token: srv.adminToken })).body.entries[0];
}

beforeAll(async () => {
  // Dozens of refused authentications from one address, on purpose: past rateLimit.authFailures they would be 429s.
  srv = await startServer({ config: NO_RATE_LIMITS });
  auditor = (await srv.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name: 'review-auditor', scope: 'auditor' } })).body.token;
  const r = (await srv.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name: 'review-revoked', scope: 'admin' } })).body;
  revokedAdmin = r.token;
  expect((await srv.call('DELETE', `/v1/tokens/${r.id}`, { token: srv.adminToken })).status).toBe(200);
});

afterAll(() => stopServer(srv));

describe('every API-token route and its scope', () => {
  it('the OpenAPI document declares exactly these scoped, result-token and public operations', async () => {
    const doc = (await srv.call('GET', '/openapi.json')).body;
    const secured: string[] = [];
    const open: string[] = [];
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) (op.security ? secured : open).push(`${method.toUpperCase()} ${path}`);
    }
    expect(secured.sort()).toEqual([...Object.keys(SCOPED), ...RESULT_TOKEN].sort());
    expect(open.sort()).toEqual([...PUBLIC].sort());
  });

  it('the OpenAPI document names the 401 and, for admin routes, the 403 that each scoped route can answer', async () => {
    const doc = (await srv.call('GET', '/openapi.json')).body;
    for (const [op, scope] of Object.entries(SCOPED)) {
      const [method, path] = op.split(' ') as [string, string];
      const responses = Object.keys(doc.paths[path][method.toLowerCase()].responses);
      expect(responses, op).toContain('401');
      if (scope === 'admin') expect(responses, op).toContain('403');
    }
  });

  it('no token: 401 unauthenticated, with WWW-Authenticate, audited with the route and the scope it needs', async () => {
    for (const [op, scope] of Object.entries(SCOPED)) {
      const res = await call(op);
      expect([res.status, res.body.code], op).toEqual([401, 'unauthenticated']);
      expect(res.headers.get('www-authenticate'), op).toBe('Bearer realm="tessera"');
      const entry = await lastAuthFailure();
      expect(entry, op).toMatchObject({ outcome: 'failure', actor: 'anonymous', subject: `${op.split(' ')[0]} ${concrete(op.split(' ')[1]!)}`, details: { requiredScope: scope } });
    }
  });

  it('a revoked token: 401 token_revoked everywhere, audited', async () => {
    for (const op of Object.keys(SCOPED)) {
      const res = await call(op, revokedAdmin);
      expect([res.status, res.body.code], op).toEqual([401, 'token_revoked']);
      expect((await lastAuthFailure()).details.reason, op).toBe('the token was revoked');
    }
  });

  it('an auditor token on an admin route: 403 insufficient_scope, audited with the token id, and nothing changes', async () => {
    const before = (await srv.call('GET', '/v1/audit?limit=1', { token: srv.adminToken })).body.entries[0].seq;
    let refusals = 0;
    for (const [op, scope] of Object.entries(SCOPED)) {
      if (scope !== 'admin') continue;
      const res = await call(op, auditor);
      expect([res.status, res.body.code], op).toEqual([403, 'insufficient_scope']);
      const entry = await lastAuthFailure();
      expect(entry, op).toMatchObject({ actor: expect.stringMatching(/^token:[0-9a-f]{16}$/), details: { requiredScope: 'admin' } });
      refusals++;
    }
    // Only the refusals themselves were recorded: no change slipped through.
    const entries = (await srv.call('GET', `/v1/audit?limit=500`, { token: srv.adminToken })).body.entries.filter((e: any) => e.seq > before);
    expect(entries.map((e: any) => e.action)).toEqual(Array(refusals).fill('auth.failure'));
  });

  it('the right scope gets past authentication (admin may do what auditor may)', async () => {
    for (const [op, scope] of Object.entries(SCOPED)) {
      if (op === 'POST /v1/keys/rotate' || op === 'POST /v1/tokens') continue; // would change state other tests here rely on
      for (const token of scope === 'auditor' ? [auditor, srv.adminToken] : [srv.adminToken]) {
        const res = await call(op, token);
        expect([401, 403], `${op}: ${JSON.stringify(res.body)}`).not.toContain(res.status);
      }
    }
  });

  it('HEAD, a trailing slash, percent-encoding and a result-token-shaped bearer do not get around authentication', async () => {
    for (const path of ['/v1/tokens', '/v1/secrets', '/v1/audit', '/v1/tokens/', '/v1/%74okens', '/v1/audit/verify/']) {
      const res = await srv.call('GET', path);
      expect([401, 404], path).toContain(res.status);
      const head = await fetch(srv.url + path, { method: 'HEAD' });
      expect([401, 404], `HEAD ${path}`).toContain(head.status);
    }
    const jwtShaped = await srv.call('GET', '/v1/secrets', { token: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln' });
    expect([jwtShaped.status, jwtShaped.body.code]).toEqual([401, 'unauthenticated']);
  });
});
