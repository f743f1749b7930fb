/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies and audit entries are JSON checked field by field */
// GET /kbs/v0/resource/<repository>/<type>/<tag> over real HTTP: the whole RCAR flow with
// simulator SNP and TDX evidence, the flattened JWE to P-256, P-521 and RSA keys decrypted
// with jose (and its protected header in the byte form the agent recomputes), the session
// cookie or a bearer token, and each refusal in Trustee's status and type.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, flattenedDecrypt, type FlattenedJWE } from 'jose';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { issueExpiredCopy, NO_RATE_LIMITS, snpAttestBody, startChainServer, stopServer, type TestServer } from '../server/helpers.ts';
import { newSessionId, sessionKey } from '../../server/kbs/session.ts';
import { KbsGuest, kbsType, rcar, teeKeyPair, type KeyKind } from './helpers.ts';

let chain: SimulatorChain;
let srv: TestServer;

beforeAll(async () => {
  ({ chain, srv } = await startChainServer({ ...NO_RATE_LIMITS, kbs: { enabled: true } }));
  const put = (name: string, body: Record<string, unknown>) => srv.call('PUT', `/v1/secrets/${name}`, { token: srv.adminToken, body });
  expect((await put('default.key.1', { value: 'the image key' })).status).toBe(201);
  expect((await put('default.cosign.pubkey.pem', { value: 'a public key file' })).status).toBe(201);
  expect((await put('prod.key.tdx-only', { value: 'for TDX guests', releasePolicy: 'claims.tee == "tdx"' })).status).toBe(201);
  expect((await put('prod.key.initdata', { value: 'for pods with this init-data', releasePolicy: 'has(claims.initData) && claims.initData.data["policy.rego"] == "package allow_exec_false"' })).status).toBe(201);
}, 120_000);
afterAll(() => stopServer(srv));

/** The agent's AAD rule (kbs-types ProtectedHeader::generate_aad): alg, enc, then the other members sorted, nested objects sorted. */
function agentHeaderForm(protectedB64: string): string {
  const h = JSON.parse(Buffer.from(protectedB64, 'base64url').toString('utf8'));
  const sortDeep = (v: any): any => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortDeep(v[k])])) : v);
  const { alg, enc, ...rest } = h;
  return JSON.stringify({ alg, enc, ...sortDeep(rest) });
}

async function open(res: { body: any }, privateKey: Parameters<typeof flattenedDecrypt>[1]): Promise<string> {
  const jwe = res.body as FlattenedJWE & { aad?: string };
  expect(Object.keys(jwe)).toEqual(['protected', 'encrypted_key', 'iv', 'ciphertext', 'tag']);
  // The header as sent is already in the agent's re-serialised form, byte for byte.
  expect(Buffer.from(jwe.protected!, 'base64url').toString('utf8')).toBe(agentHeaderForm(jwe.protected!));
  const { plaintext, protectedHeader } = await flattenedDecrypt(jwe, privateKey);
  expect(protectedHeader?.enc).toBe('A256GCM');
  return Buffer.from(plaintext).toString('utf8');
}

async function audit(subject: string): Promise<any[]> {
  return (await srv.call('GET', `/v1/audit?action=secret.release&subject=${subject}`, { token: srv.adminToken })).body.entries;
}

describe('GET /kbs/v0/resource', () => {
  for (const kind of ['P-256', 'P-521', 'RSA'] as KeyKind[]) {
    it(`auth -> attest -> resource with the session cookie, decrypted with the ${kind} key`, async () => {
      const g = new KbsGuest(srv);
      const { attest, privateKey } = await rcar(g, chain, { kind });
      expect(attest.status, JSON.stringify(attest.body)).toBe(200);
      const res = await g.call('GET', '/kbs/v0/resource/default/key/1');
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(Buffer.from(res.body.protected, 'base64url').toString()).toMatch(kind === 'RSA' ? /^\{"alg":"RSA-OAEP-256","enc":"A256GCM"\}$/ : /^\{"alg":"ECDH-ES\+A256KW","enc":"A256GCM","epk":\{"crv":"P-\d+","kty":"EC","x":"[^"]+","y":"[^"]+"\}\}$/);
      expect(await open(res, privateKey)).toBe('the image key');
    });
  }

  it('TDX guests too; a tag with dots maps to the secret <repository>.<type>.<tag>', async () => {
    const g = new KbsGuest(srv);
    const { attest, privateKey } = await rcar(g, chain, { tee: 'tdx' });
    expect(attest.status).toBe(200);
    expect(await open(await g.call('GET', '/kbs/v0/resource/prod/key/tdx-only'), privateKey)).toBe('for TDX guests');
    expect(await open(await g.call('GET', '/kbs/v0/resource/default/cosign/pubkey.pem'), privateKey)).toBe('a public key file');
  });

  it('takes the EAR as a bearer token without a cookie (trustee get_attestation_token)', async () => {
    const g = new KbsGuest(srv);
    const { attest, privateKey } = await rcar(g, chain);
    const res = await new KbsGuest(srv).call('GET', '/kbs/v0/resource/default/key/1', { headers: { authorization: `Bearer ${attest.body.token}` } });
    expect(await open(res, privateKey)).toBe('the image key');
    const entry = (await audit('default.key.1')).find((e) => e.details.tokenJti === decodeJwt(attest.body.token).jti);
    expect(entry).toMatchObject({ outcome: 'released', tee: 'sev-snp', details: { via: 'kbs', version: 1 } });
  });

  it('takes an EAR from /v1/attest as bearer too (its bare P-256 cnf is used with ECDH-ES+A256KW)', async () => {
    const { privateKey, pubkey } = teeKeyPair('P-256');
    const { kty, crv, x, y } = pubkey;
    const { body } = await snpAttestBody(srv, chain, { jwk: { kty, crv, x, y } });
    const v1 = await srv.call('POST', '/v1/attest', { body });
    expect(v1.status, JSON.stringify(v1.body)).toBe(200);
    const res = await new KbsGuest(srv).call('GET', '/kbs/v0/resource/default/key/1', { headers: { authorization: `Bearer ${v1.body.token}` } });
    expect(await open(res, privateKey)).toBe('the image key');
  });

  it('a release policy can read the init-data the pod was launched with (claims.initData)', async () => {
    const initData = 'version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"policy.rego" = "package allow_exec_false"\n';
    const hostData = createHash('sha256').update(initData).digest();
    const g = new KbsGuest(srv);
    const { attest, privateKey } = await rcar(g, chain, { initData, snp: { hostData } });
    expect(attest.status, JSON.stringify(attest.body)).toBe(200);
    expect(await open(await g.call('GET', '/kbs/v0/resource/prod/key/initdata'), privateKey)).toBe('for pods with this init-data');
    // A pod without init-data (or with other init-data) is refused.
    const other = new KbsGuest(srv);
    await rcar(other, chain);
    expect((await other.call('GET', '/kbs/v0/resource/prod/key/initdata')).status).toBe(401);
  });

  it('refuses a resource before attest: 401 TokenNotFound (the agent then attests)', async () => {
    const g = new KbsGuest(srv);
    await g.auth('snp');
    const res = await g.call('GET', '/kbs/v0/resource/default/key/1');
    expect(res.status).toBe(401);
    expect(res.body.type).toBe(kbsType('TokenNotFound'));
    expect(res.headers.get('x-tessera-code')).toBe('token_missing');
    const bare = await new KbsGuest(srv).call('GET', '/kbs/v0/resource/default/key/1');
    expect(bare.status).toBe(401);
  });

  it('denies by the release policy, and a missing resource exactly alike: 401 PolicyDeny (trustee code, not its docs)', async () => {
    const g = new KbsGuest(srv);
    await rcar(g, chain);
    const denied = await g.call('GET', '/kbs/v0/resource/prod/key/tdx-only');
    const missing = await g.call('GET', '/kbs/v0/resource/prod/key/absent');
    for (const r of [denied, missing]) {
      expect(r.status).toBe(401);
      expect(r.body.type).toBe(kbsType('PolicyDeny'));
      expect(r.headers.get('x-tessera-code')).toBe('release_denied');
      expect(r.body.detail).toMatch(/^Access denied by policy: /);
    }
    expect(denied.body.detail.replace('prod.key.tdx-only', 'X')).toBe(missing.body.detail.replace('prod.key.absent', 'X'));
    // The audit says which.
    expect((await audit('prod.key.tdx-only')).at(0)).toMatchObject({ outcome: 'denied', details: { code: 'release_denied', via: 'kbs' } });
    expect((await audit('prod.key.absent')).at(0)).toMatchObject({ outcome: 'denied', details: { code: 'secret_not_found', via: 'kbs' } });
  });

  it('refuses the cookie of an expired session (401 TokenNotFound: the agent attests again), though its token is still valid', async () => {
    const g = new KbsGuest(srv);
    const { attest, pubkey } = await rcar(g, chain);
    const id = newSessionId();
    const now = Date.now();
    await srv.service.ctx.store.kbsSessions.create({
      id: sessionKey(id), nonce: 'B'.repeat(43) + '=', tee: 'snp', state: 'attested', hashAlg: 'sha384', teePubkey: JSON.stringify(pubkey),
      token: attest.body.token, attestationId: null, createdAt: now - 400_000, expiresAt: now - 1_000,
    });
    const stale = new KbsGuest(srv);
    stale.cookie = `kbs-session-id=${id}`;
    const res = await stale.call('GET', '/kbs/v0/resource/default/key/1');
    expect(res.status).toBe(401);
    expect(res.body.type).toBe(kbsType('TokenNotFound'));
  });

  it('refuses an expired or foreign token with 401 TokenVerifierError', async () => {
    const g = new KbsGuest(srv);
    const { attest } = await rcar(g, chain);
    const expired = await issueExpiredCopy(srv.service.ctx.keys, attest.body.token, srv.service.ctx.build);
    const res = await new KbsGuest(srv).call('GET', '/kbs/v0/resource/default/key/1', { headers: { authorization: `Bearer ${expired.token}` } });
    expect(res.status).toBe(401);
    expect(res.body.type).toBe(kbsType('TokenVerifierError'));
    expect(res.headers.get('x-tessera-code')).toBe('token_expired');
    const forged = await new KbsGuest(srv).call('GET', '/kbs/v0/resource/default/key/1', { headers: { authorization: 'Bearer abc.def.ghi' } });
    expect(forged.headers.get('x-tessera-code')).toBe('token_invalid');
  });

  it('answers paths that map to no secret 404 InvalidRequestPath', async () => {
    for (const path of ['/kbs/v0/resource/a.b/key/1', '/kbs/v0/resource/default/key/..x', '/kbs/v0/resource/default/key', '/kbs/v0/resource/a/b/c/d', '/kbs/v0/resource/de%2Ffault/key/1']) {
      const res = await new KbsGuest(srv).call('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.body.type, path).toBe(kbsType('InvalidRequestPath'));
    }
  });
});
