/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// Every bad input gets a precise 4xx problem+json and changes nothing; rate limits; the
// operational endpoints; OpenAPI and /docs; a restart keeps policies, tokens and audit; a
// wrong KEK stops the start; configuration errors name the key.

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { createService } from '../../server/service.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { makeChain, removeDir, snpAttestBody, startServer, teeKey, tempDir, type TestServer } from './helpers.ts';

let srv: TestServer;
let chain: SimulatorChain;

beforeAll(async () => {
  chain = await makeChain();
  srv = await startServer({ chain, config: { bodyLimit: 64 * 1024, rateLimit: { windowSeconds: 60, challenge: 1000, attest: 1000 } } });
}, 120_000);

afterAll(async () => {
  await srv?.stop();
  if (srv) removeDir(srv.dataDir);
});

async function auditHead(): Promise<number> {
  return (await srv.call('GET', '/v1/audit/verify', { token: srv.adminToken })).body.checked;
}

describe('bad input', () => {
  it('each gets a 4xx problem+json with its own code, and nothing is stored', async () => {
    const { body } = await snpAttestBody(srv, chain);
    const ev = body.evidence as { report: string; certificates: { vcek: string } };
    const report = Buffer.from(ev.report, 'base64');
    const jwk = body.teePublicKey as Record<string, string>;
    const before = await auditHead();
    const cases: [string, { raw?: string; body?: unknown; contentType?: string }, number, string][] = [
      ['malformed JSON', { raw: '{"challenge": ' }, 400, 'malformed_json'],
      ['not JSON at all', { raw: 'challenge=1', contentType: 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type'],
      ['body too large', { raw: JSON.stringify({ ...body, pad: 'x'.repeat(70 * 1024) }) }, 413, 'body_too_large'],
      ['wrong type', { body: { ...body, challenge: 42 } }, 400, 'request_invalid'],
      ['unknown field', { body: { ...body, extra: true } }, 400, 'request_invalid'],
      ['unknown tee', { body: { ...body, tee: 'sev' } }, 400, 'tee_unknown'],
      ['bad base64', { body: { ...body, evidence: { ...ev, report: 'not base64!' } } }, 400, 'evidence_base64_invalid'],
      ['bad base64 certificate', { body: { ...body, evidence: { ...ev, certificates: { vcek: '%%%%' } } } }, 400, 'evidence_base64_invalid'],
      ['short report', { body: { ...body, evidence: { ...ev, report: report.subarray(0, 1183).toString('base64') } } }, 400, 'snp_report_length'],
      ['long report', { body: { ...body, evidence: { ...ev, report: Buffer.concat([report, Buffer.alloc(1)]).toString('base64') } } }, 400, 'snp_report_length'],
      ['missing report', { body: { ...body, evidence: {} } }, 400, 'evidence_missing'],
      ['quote for SNP', { body: { ...body, evidence: { ...ev, quote: 'AAAA' } } }, 400, 'evidence_invalid'],
      ['private key', { body: { ...body, teePublicKey: { ...jwk, d: 'AAAA' } } }, 400, 'tee_public_key_invalid'],
      ['wrong curve', { body: { ...body, teePublicKey: { ...jwk, crv: 'P-384' } } }, 400, 'tee_public_key_invalid'],
      ['RSA key', { body: { ...body, teePublicKey: { kty: 'RSA', crv: '', x: '', y: '', n: 'AQAB', e: 'AQAB' } } }, 400, 'tee_public_key_invalid'],
      ['off-curve point', { body: { ...body, teePublicKey: { ...jwk, y: jwk.x } } }, 400, 'tee_public_key_invalid'],
      ['short coordinate', { body: { ...body, teePublicKey: { ...jwk, x: 'AAAA' } } }, 400, 'tee_public_key_invalid'],
      ['key not an object', { body: { ...body, teePublicKey: 'key' } }, 400, 'tee_public_key_invalid'],
    ];
    for (const [what, input, status, code] of cases) {
      const res = await srv.call('POST', '/v1/attest', input);
      expect(res.status, what).toBe(status);
      expect(res.body.code, what).toBe(code);
      expect(res.headers.get('content-type'), what).toContain('application/problem+json');
      expect(res.body.type, what).toBe(`https://tessera.dev/problems/${code}`);
      expect(typeof res.body.detail, what).toBe('string');
    }
    expect(await auditHead()).toBe(before);
    // The challenge was never consumed: the genuine request still succeeds.
    expect((await srv.call('POST', '/v1/attest', { body })).status).toBe(200);
  });

  it('never answers 500 to junk bodies on any route', async () => {
    const junk = ['null', '[]', '"x"', '{"tee":null}', '{"a":{"b":[1,2,{"c":null}]}}', '1e999', '{"__proto__":{"x":1}}'];
    const routes: [string, string][] = [
      ['POST', '/v1/challenge'],
      ['POST', '/v1/attest'],
      ['POST', '/v1/policies/evaluate'],
      ['POST', '/v1/policies/replay'],
      ['POST', '/v1/policies/what-if'],
      ['PUT', '/v1/policies/junk'],
      ['POST', '/v1/policies/default/activate'],
      ['PUT', '/v1/reference-values/junk'],
      ['POST', '/v1/tokens'],
    ];
    for (const [method, path] of routes) {
      for (const raw of junk) {
        const res = await srv.call(method, path, { raw, token: srv.adminToken });
        expect(res.status, `${method} ${path} ${raw}`).toBeGreaterThanOrEqual(200);
        expect(res.status, `${method} ${path} ${raw}`).toBeLessThan(500);
      }
    }
    const unknown = await srv.call('GET', '/v1/nothing-here');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'not_found']);
  });

  it('accepts base64url evidence and ignores nothing: a fresh key and challenge still bind', async () => {
    const { body } = await snpAttestBody(srv, chain, { jwk: teeKey() });
    const ev = body.evidence as { report: string; certificates: { vcek: string } };
    const url = { report: Buffer.from(ev.report, 'base64').toString('base64url'), certificates: { vcek: Buffer.from(ev.certificates.vcek, 'base64').toString('base64url') } };
    expect((await srv.call('POST', '/v1/attest', { body: { ...body, evidence: url } })).status).toBe(200);
  });
});

describe('rate limits', () => {
  it('limit challenge requests per client address, with Retry-After', async () => {
    const limited = await startServer({ config: { rateLimit: { windowSeconds: 60, challenge: 3, attest: 3 } } });
    try {
      for (let i = 0; i < 3; i++) expect((await limited.call('POST', '/v1/challenge', { body: { tee: 'tdx' } })).status).toBe(200);
      const over = await limited.call('POST', '/v1/challenge', { body: { tee: 'tdx' } });
      expect([over.status, over.body.code]).toEqual([429, 'rate_limited']);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      // Each bucket counts separately; attest is still allowed.
      expect((await limited.call('POST', '/v1/attest', { body: {} })).status).toBe(400);
    } finally {
      await limited.stop();
      removeDir(limited.dataDir);
    }
  });

  it('behind a trusted proxy, count the address the proxy appended, not what the client wrote', async () => {
    const proxied = await startServer({ config: { trustProxy: true, rateLimit: { windowSeconds: 60, challenge: 2, attest: 2 } } });
    try {
      const from = (xff: string) => proxied.call('POST', '/v1/challenge', { body: { tee: 'tdx' }, headers: { 'x-forwarded-for': xff } });
      expect((await from('10.0.0.1')).status).toBe(200);
      expect((await from('198.51.100.7, 10.0.0.1')).status).toBe(200);
      expect((await from('203.0.113.9, 10.0.0.1')).status).toBe(429);
      expect((await from('10.0.0.2')).status).toBe(200);
    } finally {
      await proxied.stop();
      removeDir(proxied.dataDir);
    }
  });
});

describe('operations', () => {
  it('answers health, readiness and Prometheus metrics', async () => {
    expect((await srv.call('POST', '/v1/attest', { body: (await snpAttestBody(srv, chain)).body })).status).toBe(200);
    expect((await srv.call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await srv.call('GET', '/readyz')).body).toEqual({ status: 'ready' });
    const m = await srv.call('GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/tessera_http_requests_total\{route="\/v1\/attest",method="POST",status="200"\} \d+/);
    expect(m.body).toMatch(/tessera_attestation_duration_seconds_bucket\{le="0.05",tee="sev-snp",outcome="affirming"\} \d+/);
    expect(m.body).toMatch(/tessera_verifications_total\{tee="sev-snp",outcome="verified"\} \d+/);
    expect(m.body).toMatch(/tessera_collateral_cache_hits\{vendor="amd-kds"\} \d+/);
    expect(m.body).toMatch(/tessera_collateral_oldest_document_age_seconds\{vendor="intel-pcs"\} \d+/);
    expect(m.body).not.toContain(srv.adminToken);
  });

  it('publishes an OpenAPI 3.1 document generated from the schemas, and an offline /docs page', async () => {
    const doc = await srv.call('GET', '/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    for (const p of ['/v1/challenge', '/v1/attest', '/.well-known/jwks.json', '/v1/policies/{name}', '/v1/policies/evaluate', '/v1/policies/replay', '/v1/policies/what-if', '/v1/fleet', '/v1/audit', '/v1/audit/verify', '/v1/tokens', '/v1/reference-values/{name}']) {
      expect(doc.body.paths[p], p).toBeDefined();
    }
    expect(doc.body.components.schemas.AttestRequest.required).toEqual(expect.arrayContaining(['challenge', 'tee', 'evidence', 'teePublicKey']));
    expect(doc.body.components.securitySchemes.bearerAuth.scheme).toBe('bearer');
    const html = await fetch(`${srv.url}/docs`);
    const text = await html.text();
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(text).toContain('/openapi.json');
    expect(text).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
  });

  it('carries a request id through, taking a well-formed one from the client', async () => {
    const res = await fetch(`${srv.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    const other = await fetch(`${srv.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(other.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('restart', () => {
  it('keeps policies, tokens, signing keys and the audit chain; a wrong KEK refuses to start', async () => {
    const dataDir = tempDir();
    const env = { TESSERA_KEK: randomBytes(32).toString('base64') };
    const first = await startServer({ dataDir, env });
    await first.call('PUT', '/v1/policies/kept', { token: first.adminToken, body: { description: 'kept' } });
    const auditor = (await first.call('POST', '/v1/tokens', { token: first.adminToken, body: { name: 'kept', scope: 'auditor' } })).body.token;
    const jwks = (await first.call('GET', '/.well-known/jwks.json')).body;
    const head = (await first.call('GET', '/v1/audit/verify', { token: first.adminToken })).body.head;
    await first.stop();

    const second = await startServer({ dataDir, env });
    try {
      expect(second.adminToken).toBe('');
      expect((await second.call('GET', '/v1/policies/kept', { token: first.adminToken })).body.version).toBe(1);
      expect((await second.call('GET', '/v1/audit', { token: auditor })).status).toBe(200);
      expect((await second.call('GET', '/.well-known/jwks.json')).body).toEqual(jwks);
      const report = (await second.call('GET', '/v1/audit/verify', { token: auditor })).body;
      expect(report.ok).toBe(true);
      expect(report.checked).toBeGreaterThanOrEqual(head.seq);
      expect((await second.call('GET', `/v1/audit?limit=500`, { token: auditor })).body.entries.find((e: any) => e.seq === head.seq).hash).toBe(head.hash);
    } finally {
      await second.stop();
    }

    const config = loadConfig({ env: {}, overrides: { dataDir, logLevel: 'silent' } });
    await expect(createService({ config, env: { TESSERA_KEK: randomBytes(32).toString('base64') } })).rejects.toThrow(/wrong KEK for this database/);
    await expect(createService({ config, env: {} })).rejects.toThrow(/no key-encryption key/);
    removeDir(dataDir);
  });
});

describe('configuration', () => {
  it('validates file and environment, naming the bad key', () => {
    const dir = tempDir();
    const file = join(dir, 'tessera.yaml');
    writeFileSync(file, 'port: 8443\nrateLimit:\n  attest: -1\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(`${file}: rateLimit.attest`);
    writeFileSync(file, 'prot: 8443\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(`${file}: prot`);
    writeFileSync(file, '{"port": 9000, "host": "0.0.0.0"}');
    expect(loadConfig({ file, env: { TESSERA_PORT: '9001' } })).toMatchObject({ port: 9001, host: '0.0.0.0', dataDir: './data', dev: false });
    expect(() => loadConfig({ env: { TESSERA_PORT: 'eighty' } })).toThrow('TESSERA_PORT');
    expect(() => loadConfig({ env: { TESSERA_PORT: '70000' } })).toThrow('TESSERA_PORT');
    expect(() => loadConfig({ env: { TESSERA_DEV: 'maybe' } })).toThrow('TESSERA_DEV');
    expect(() => loadConfig({ env: {}, overrides: { logLevel: 'loud' as never } })).toThrow('--log-level');
    expect(loadConfig({ env: {} })).toMatchObject({ port: 8080, host: '127.0.0.1', dataDir: './data' });
    removeDir(dir);
  });
});
