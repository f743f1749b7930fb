/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// The secrets API over real HTTP: versions, listing without values, deletion, every bad
// input refused with its own code and nothing changed, and release: each way a token or a
// release policy is refused, with its code, and every decision audited without the value.

import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactDecrypt, decodeJwt, decodeProtectedHeader, SignJWT, type JWK } from 'jose';
import { expectedReportData } from '../../verifier/binding.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { buildTdxQuote } from '../../verifier/testing/tdx-quote-builder.ts';
import { DB_FILE } from '../../server/storage/sqlite/connection.ts';
import { issueExpiredCopy, snpAttestBody, startChainServer, stopServer, type TestServer } from '../server/helpers.ts';

let chain: SimulatorChain;
let srv: TestServer;

beforeAll(async () => {
  ({ chain, srv } = await startChainServer());
}, 120_000);

afterAll(() => stopServer(srv));

function teePair(): { privateKey: KeyObject; jwk: JWK } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const j = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, jwk: { kty: 'EC', crv: 'P-256', x: j.x!, y: j.y! } };
}

/** Attest with simulated SNP evidence bound to a fresh TEE key; the token and the key. */
async function attestSnp(extra: Record<string, unknown> = {}) {
  const key = teePair();
  const { body } = await snpAttestBody(srv, chain, { jwk: key.jwk });
  const res = await srv.call('POST', '/v1/attest', { body: { ...body, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { token: res.body.token as string, key, res };
}

const put = (name: string, body: unknown, token = srv.adminToken) => srv.call('PUT', `/v1/secrets/${name}`, { body, token });
const open = async (jwe: string, key: KeyObject) =>
  Buffer.from((await compactDecrypt(jwe, key, { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] })).plaintext).toString('utf8');

async function lastRelease(name: string): Promise<any> {
  const r = await srv.call('GET', `/v1/audit?action=secret.release&subject=${name}&limit=1`, { token: srv.adminToken });
  return r.body.entries[0];
}

describe('secret storage', () => {
  it('stores every update as a new version, lists metadata but never values, deletes versions', async () => {
    const v1 = await put('db-password', { value: 'first-value-1', description: 'the database', labels: { team: 'payments' } });
    expect(v1.status, JSON.stringify(v1.body)).toBe(201);
    expect(v1.body).toMatchObject({ name: 'db-password', version: 1, size: 13, description: 'the database', labels: { team: 'payments' }, releasePolicy: null, acceptPolicies: null, acceptStatuses: ['affirming'] });
    const v2 = await put('db-password', { valueBase64: Buffer.from([0, 1, 2, 255]).toString('base64'), releasePolicy: 'claims.debug == false' });
    expect(v2.body).toMatchObject({ version: 2, size: 4, releasePolicy: 'claims.debug == false' });

    const list = await srv.call('GET', '/v1/secrets', { token: srv.adminToken });
    expect(list.status).toBe(200);
    const entry = list.body.secrets.find((s: any) => s.name === 'db-password');
    expect(entry.latestVersion).toBe(2);
    expect(entry.versions.map((v: any) => v.version)).toEqual([1, 2]);
    expect(JSON.stringify(list.body)).not.toContain('first-value-1');
    for (const v of entry.versions) expect(Object.keys(v)).not.toContain('value');

    // At rest: neither the value nor its base64 is in the database file.
    const file = readFileSync(join(srv.dataDir, DB_FILE));
    expect(file.includes(Buffer.from('first-value-1'))).toBe(false);
    expect(file.includes(Buffer.from(Buffer.from('first-value-1').toString('base64')))).toBe(false);

    const del = await srv.call('DELETE', '/v1/secrets/db-password?version=1', { token: srv.adminToken });
    expect(del.body).toEqual({ name: 'db-password', deletedVersions: [1] });
    const again = await srv.call('DELETE', '/v1/secrets/db-password?version=1', { token: srv.adminToken });
    expect([again.status, again.body.code]).toEqual([404, 'secret_not_found']);
    // Version numbers are never reused after a delete.
    expect((await put('db-password', { value: 'third' })).body.version).toBe(3);
    const all = await srv.call('DELETE', '/v1/secrets/db-password', { token: srv.adminToken });
    expect(all.body.deletedVersions).toEqual([2, 3]);
    expect((await srv.call('GET', '/v1/secrets', { token: srv.adminToken })).body.secrets.find((s: any) => s.name === 'db-password')).toBeUndefined();
    expect((await put('db-password', { value: 'fourth' })).body.version).toBe(4);

    const audit = await srv.call('GET', '/v1/audit?subject=db-password', { token: srv.adminToken });
    expect(audit.body.entries.map((e: any) => e.action).sort()).toEqual(['secret.delete', 'secret.delete', 'secret.put', 'secret.put', 'secret.put', 'secret.put']);
    expect(JSON.stringify(audit.body)).not.toContain('first-value-1');
  });

  it('erases a deleted version from the database file and its write-ahead log, not just from the row', async () => {
    // Large enough to spill into overflow pages, whose freed content secure_delete zeroes.
    expect((await put('wipe-me', { valueBase64: randomBytes(24 * 1024).toString('base64') })).status).toBe(201);
    const reader = new Database(join(srv.dataDir, DB_FILE), { readonly: true });
    const sealed = reader.prepare<[], string>("SELECT value FROM secret_versions WHERE name = 'wipe-me'").pluck().get()!;
    reader.close();
    // Pieces of the envelope's ciphertext (its longest base64 run), from end to end: none may remain anywhere.
    const run = sealed.match(/[A-Za-z0-9+/=_-]{40,}/g)!.sort((a, b) => b.length - a.length)[0]!;
    const needles = Array.from({ length: Math.floor(run.length / 1024) }, (_, i) => run.slice(i * 1024, i * 1024 + 48));
    expect(needles.length).toBeGreaterThan(20);
    const found = () => {
      const files = [DB_FILE, `${DB_FILE}-wal`].map((f) => (existsSync(join(srv.dataDir, f)) ? readFileSync(join(srv.dataDir, f)) : Buffer.alloc(0)));
      return needles.filter((n) => files.some((bytes) => bytes.includes(n))).length;
    };
    expect(found()).toBe(needles.length);
    expect((await srv.call('DELETE', '/v1/secrets/wipe-me', { token: srv.adminToken })).status).toBe(200);
    expect(found()).toBe(0);
  });

  it('refuses bad input with a 4xx problem and its own code, and changes nothing', async () => {
    await put('stable', { value: 'stable-value' });
    const before = (await srv.call('GET', '/v1/secrets', { token: srv.adminToken })).body;
    const cases: [string, unknown, number, string][] = [
      ['a..b', { value: 'x' }, 400, 'secret_name_invalid'],
      ['.hidden', { value: 'x' }, 400, 'secret_name_invalid'],
      ['a%2Fb', { value: 'x' }, 400, 'secret_name_invalid'],
      ['a%2F..%2Fb', { value: 'x' }, 400, 'secret_name_invalid'],
      ['x'.repeat(129), { value: 'x' }, 400, 'secret_name_invalid'],
      ['stable', { value: 'x', valueBase64: 'eA==' }, 400, 'secret_value_invalid'],
      ['stable', { description: 'no value' }, 400, 'secret_value_invalid'],
      ['stable', { valueBase64: 'not base64!' }, 400, 'secret_value_invalid'],
      ['stable', { valueBase64: 'eA' }, 400, 'secret_value_invalid'],
      ['stable', { value: '' }, 400, 'secret_value_invalid'],
      ['stable', { value: 'x', releasePolicy: 'claims.tee ==' }, 422, 'release_policy_invalid'],
      ['stable', { value: 'x', releasePolicy: 'nosuchvar == 1' }, 422, 'release_policy_invalid'],
      ['stable', { value: 'x', acceptStatuses: ['great'] }, 400, 'request_invalid'],
      ['stable', { value: 'x', unknownField: 1 }, 400, 'request_invalid'],
    ];
    for (const [name, body, status, code] of cases) {
      const r = await put(name, body);
      expect([name, r.status, r.body.code], JSON.stringify(r.body)).toEqual([name, status, code]);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
    }
    const bad = await put('stable', { value: 'x', releasePolicy: 'claims.tee ==' });
    expect(bad.body.issues[0].path).toBe('releasePolicy');
    expect(bad.body.detail).toMatch(/does not compile/);

    const noToken = await srv.call('PUT', '/v1/secrets/stable', { body: { value: 'x' } });
    expect([noToken.status, noToken.body.code]).toEqual([401, 'unauthenticated']);
    const auditor = await srv.call('POST', '/v1/tokens', { body: { name: 'aud', scope: 'auditor' }, token: srv.adminToken });
    const denied = await put('stable', { value: 'x' }, auditor.body.token);
    expect([denied.status, denied.body.code]).toEqual([403, 'insufficient_scope']);
    expect((await srv.call('GET', '/v1/secrets', { token: auditor.body.token })).status).toBe(403);

    expect((await srv.call('GET', '/v1/secrets', { token: srv.adminToken })).body).toEqual(before);
  });
});

describe('secret release', () => {
  beforeAll(async () => {
    await put('app-key', { value: 'app-key-v1' });
    await put('app-key', { value: 'app-key-v2' });
    await put('tdx-only', { value: 'tdx-value', releasePolicy: 'claims.tee == "tdx"' });
    await put('other-policy', { value: 'other', acceptPolicies: ['production'] });
  });

  it('releases the newest or the asked version as a JWE to the cnf key, and audits it with the jti and claims digest', async () => {
    const { token, key, res } = await attestSnp();
    const r = await srv.call('GET', '/v1/secrets/app-key', { token });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/jose');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(decodeProtectedHeader(r.body)).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' });
    expect(await open(r.body, key.privateKey)).toBe('app-key-v2');
    const v1 = await srv.call('GET', '/v1/secrets/app-key?version=1', { token });
    expect(await open(v1.body, key.privateKey)).toBe('app-key-v1');

    const entry = await lastRelease('app-key');
    const attestEntry = (await srv.call('GET', `/v1/audit?action=attestation&subject=${res.body.attestationId}`, { token: srv.adminToken })).body.entries[0];
    expect(entry).toMatchObject({ outcome: 'released', tee: 'sev-snp', details: { name: 'app-key', version: 1, tokenJti: decodeJwt(token).jti, via: 'secret-get' } });
    expect(entry.details.claimsDigest).toBe(attestEntry.details.claimsDigest);
    expect(JSON.stringify(entry)).not.toContain('app-key-v');
    expect(JSON.stringify(entry)).not.toContain(token.split('.')[2]);
  });

  it('releases to TDX results too, under a release policy that asks for TDX', async () => {
    const key = teePair();
    const challenge = await srv.call('POST', '/v1/challenge', { body: { tee: 'tdx' } });
    const { quote } = buildTdxQuote(chain, { reportData: await expectedReportData(Buffer.from(challenge.body.nonce, 'base64url'), key.jwk) });
    const tdx = await srv.call('POST', '/v1/attest', { body: { challenge: challenge.body.challenge, tee: 'tdx', evidence: { quote: Buffer.from(quote).toString('base64') }, teePublicKey: key.jwk } });
    expect(tdx.status, JSON.stringify(tdx.body)).toBe(200);
    const r = await srv.call('GET', '/v1/secrets/tdx-only', { token: tdx.body.token });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(await open(r.body, key.privateKey)).toBe('tdx-value');
  });

  it('refuses each bad token with its own code, and audits the refusal', async () => {
    const { token } = await attestSnp();
    const none = await srv.call('GET', '/v1/secrets/app-key');
    expect([none.status, none.body.code]).toEqual([401, 'token_missing']);
    expect((await lastRelease('app-key')).details).toMatchObject({ code: 'token_missing', tokenJti: null });

    const garbage = await srv.call('GET', '/v1/secrets/app-key', { token: 'not.a.token' });
    expect([garbage.status, garbage.body.code]).toEqual([401, 'token_invalid']);

    // Our kid, but the payload altered: the signature does not verify.
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    payload.exp += 3600;
    const altered = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    const tampered = await srv.call('GET', '/v1/secrets/app-key', { token: altered });
    expect([tampered.status, tampered.body.code]).toEqual([401, 'token_invalid']);
    expect(tampered.body.detail).toMatch(/signature/);

    // The same claims signed by a key this service never published.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const foreign = await new SignJWT(decodeJwt(token)).setProtectedHeader({ alg: 'ES256', kid: 'someone-else', typ: 'JWT' }).sign(privateKey);
    const unknown = await srv.call('GET', '/v1/secrets/app-key', { token: foreign });
    expect([unknown.status, unknown.body.code]).toEqual([401, 'token_unknown_key']);
    expect((await lastRelease('app-key')).details).toMatchObject({ code: 'token_unknown_key' });

    // Signed by our key, but expired: issued two hours ago with a one-minute lifetime.
    const old = await issueExpiredCopy(srv.service.ctx.keys, token, 'test');
    const expired = await srv.call('GET', '/v1/secrets/app-key', { token: old.token });
    expect([expired.status, expired.body.code]).toEqual([401, 'token_expired']);
    expect((await lastRelease('app-key')).details).toMatchObject({ code: 'token_expired' });
  });

  it('refuses when the release policy, the accepted policies or the secret say no', async () => {
    const { token } = await attestSnp();
    const jti = decodeJwt(token).jti;
    const tdxOnly = await srv.call('GET', '/v1/secrets/tdx-only', { token });
    expect([tdxOnly.status, tdxOnly.body.code]).toEqual([403, 'release_denied']);
    // The guest is told only that it is not released; the operator's audit entry says why.
    expect(tdxOnly.body.failedRules).toBeUndefined();
    expect(await lastRelease('tdx-only')).toMatchObject({ outcome: 'denied', details: { code: 'release_denied', tokenJti: jti, version: 1, failedRules: [{ id: 'release.expr' }] } });

    const other = await srv.call('GET', '/v1/secrets/other-policy', { token });
    expect([other.status, other.body.code]).toEqual([403, 'release_denied']);
    expect((await lastRelease('other-policy')).details.failedRules[0].id).toBe('release.appraisalPolicy');

    const badName = await srv.call('GET', '/v1/secrets/a..b', { token });
    expect([badName.status, badName.body.code]).toEqual([400, 'secret_name_invalid']);
    const badVersion = await srv.call('GET', '/v1/secrets/app-key?version=0', { token });
    expect([badVersion.status, badVersion.body.code]).toEqual([400, 'request_invalid']);
    const missing = await srv.call('GET', '/v1/secrets/no-such-secret', { token });
    expect([missing.status, missing.body.code]).toEqual([403, 'release_denied']);
    const missingVersion = await srv.call('GET', '/v1/secrets/app-key?version=9', { token });
    expect([missingVersion.status, missingVersion.body.code]).toEqual([403, 'release_denied']);
    expect((await lastRelease('no-such-secret')).details).toMatchObject({ code: 'secret_not_found', tokenJti: jti });
  });

  it('a warning result gets only secrets that accept warnings; acceptPolicies admits the named appraisal policy', async () => {
    await put('strict', { value: 'strict-value' });
    await put('lenient', { value: 'lenient-value', acceptStatuses: ['affirming', 'warning'], acceptPolicies: ['warns'] });
    const warns = { name: 'warns', tees: ['sev-snp'], snp: { allowDebug: false }, rules: [{ name: 'always-warns', expr: 'claims.tee == "tdx"', effect: 'warn' }] };
    expect((await srv.call('PUT', '/v1/policies/warns', { body: warns, token: srv.adminToken })).status).toBe(201);
    expect((await srv.call('POST', '/v1/policies/warns/activate', { body: {}, token: srv.adminToken })).status).toBe(200);
    try {
      const { token, key, res } = await attestSnp();
      expect(res.body.status).toBe('warning');
      const strict = await srv.call('GET', '/v1/secrets/strict', { token });
      expect([strict.status, strict.body.code]).toEqual([403, 'release_denied']);
      expect((await lastRelease('strict')).details.failedRules[0]).toMatchObject({ id: 'release.status' });
      const lenient = await srv.call('GET', '/v1/secrets/lenient', { token });
      expect(lenient.status, JSON.stringify(lenient.body)).toBe(200);
      expect(await open(lenient.body, key.privateKey)).toBe('lenient-value');
    } finally {
      expect((await srv.call('POST', '/v1/policies/default/activate', { body: {}, token: srv.adminToken })).status).toBe(200);
    }
  });

  it('a stolen token is useless without the TEE key: the JWE opens only with the attested key', async () => {
    const { token } = await attestSnp();
    const thief = teePair();
    const r = await srv.call('GET', '/v1/secrets/app-key', { token });
    expect(r.status).toBe(200);
    await expect(open(r.body, thief.privateKey)).rejects.toThrow();
  });

  it('keeps the audit chain intact through all of it', async () => {
    const v = await srv.call('GET', '/v1/audit/verify', { token: srv.adminToken });
    expect(v.body.ok).toBe(true);
  });
});
