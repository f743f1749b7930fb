/* eslint-disable @typescript-eslint/no-explicit-any -- audit entries are JSON checked field by field */
// POST /kbs/v0/auth over real HTTP: the Challenge and cookie, version 0.4.0 only with
// Trustee's sentence, hash negotiation, and the audit entry of each request.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionKey } from '../../server/kbs/session.ts';
import { startServer, stopServer, type TestServer } from '../server/helpers.ts';
import { KbsGuest, kbsType } from './helpers.ts';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer({ config: { kbs: { enabled: true } } });
}, 60_000);
afterAll(() => stopServer(srv));

async function kbsAudit(): Promise<any[]> {
  return (await srv.call('GET', '/v1/audit?action=kbs.auth', { token: srv.adminToken })).body.entries;
}

describe('POST /kbs/v0/auth', () => {
  it('answers a nonce of 32 random bytes (base64), extra-params "" and a session cookie, stored by its hash', async () => {
    const g = new KbsGuest(srv);
    const res = await g.auth('snp');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['extra-params', 'nonce']);
    expect(res.body['extra-params']).toBe('');
    expect(Buffer.from(res.body.nonce, 'base64')).toHaveLength(32);
    expect(res.body.nonce).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^kbs-session-id=[0-9a-f]{32}; /);
    expect(cookie).toContain('Path=/kbs/v0');
    expect(cookie).toContain('HttpOnly');
    const id = /kbs-session-id=([0-9a-f]{32})/.exec(cookie)![1]!;
    // The row is keyed by SHA-256 of the id; the id itself is nowhere in the store.
    const row = await srv.service.ctx.store.kbsSessions.get(sessionKey(id), Date.now());
    expect(row).toMatchObject({ nonce: res.body.nonce, tee: 'snp', state: 'auth', hashAlg: 'sha384' });
    expect(await srv.service.ctx.store.kbsSessions.get(id, Date.now())).toBeUndefined();
    const expires = Date.parse(/Expires=([^;]+)/.exec(cookie)![1]!);
    expect(Math.abs(expires - row!.expiresAt)).toBeLessThan(1000);
    expect(row!.expiresAt - row!.createdAt).toBe(300_000);

    const entry = (await kbsAudit()).find((e) => e.subject === sessionKey(id).slice(0, 16));
    expect(entry).toMatchObject({ outcome: 'issued', tee: 'snp', details: { hashAlg: 'sha384' } });
  });

  it('accepts exactly version 0.4.0 and names it in Trustee\'s words otherwise', async () => {
    for (const version of ['0.3.0', '0.4.1', '1.0.0', '0.4.0-rc1', 'latest']) {
      const res = await new KbsGuest(srv).call('POST', '/kbs/v0/auth', { body: { version, tee: 'snp', 'extra-params': '' } });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        type: kbsType('AttestationError'),
        detail: `Attestation error: RCAR handshake Auth failed: KBS Client Protocol Version Mismatch: expect =0.4.0 while the request is ${version}`,
      });
      expect(res.headers.get('x-tessera-code')).toBe('kbs_version_mismatch');
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    const entries = await kbsAudit();
    expect(entries.filter((e) => e.outcome === 'rejected' && e.details.code === 'kbs_version_mismatch').length).toBeGreaterThanOrEqual(5);
  });

  it('refuses a TEE it does not verify, a body that is not a Request, and bad extra-params', async () => {
    const tee = await new KbsGuest(srv).call('POST', '/kbs/v0/auth', { body: { version: '0.4.0', tee: 'sample', 'extra-params': '' } });
    expect(tee.status).toBe(401);
    expect(tee.headers.get('x-tessera-code')).toBe('kbs_tee_unsupported');
    const notJson = await new KbsGuest(srv).call('POST', '/kbs/v0/auth', { raw: '{"version":' });
    expect(notJson.status).toBe(401);
    expect(notJson.body.type).toBe(kbsType('AttestationError'));
    expect(notJson.headers.get('x-tessera-code')).toBe('kbs_request_invalid');
    const badList = await new KbsGuest(srv).auth('tdx', { 'supported-hash-algorithms': 'sha384' });
    expect(badList.status).toBe(401);
    expect(badList.headers.get('x-tessera-code')).toBe('kbs_extra_params_invalid');
    const none = await new KbsGuest(srv).auth('tdx', { 'supported-hash-algorithms': ['sm3'] });
    expect(none.headers.get('x-tessera-code')).toBe('kbs_hash_unsupported');
  });

  it('selects SHA-512 or SHA-256 only for a client that cannot do SHA-384, and says so in selected-hash-algorithm', async () => {
    const g = new KbsGuest(srv);
    const res = await g.auth('tdx', { 'supported-hash-algorithms': ['SHA512', 'sha256'] });
    expect(res.body['extra-params']).toEqual({ 'selected-hash-algorithm': 'sha512' });
    const id = /kbs-session-id=([0-9a-f]{32})/.exec(g.cookie!)![1]!;
    expect((await srv.service.ctx.store.kbsSessions.get(sessionKey(id), Date.now()))!.hashAlg).toBe('sha512');
    expect((await new KbsGuest(srv).auth('tdx', { 'supported-hash-algorithms': ['sha256'] })).body['extra-params']).toEqual({ 'selected-hash-algorithm': 'sha256' });
    // An old agent that sends no list gets the default.
    expect((await new KbsGuest(srv).auth('tdx', '')).body['extra-params']).toBe('');
  });

  it('answers the paths Trustee serves and we do not (its admin API, plugins) with PluginNotFound', async () => {
    const res = await new KbsGuest(srv).call('POST', '/kbs/v0/resource-policy', { body: { policy: 'x' } });
    expect(res.status).toBe(404);
    expect(res.body.type).toBe(kbsType('PluginNotFound'));
  });

  it('answers an oversized body 413 in the KBS shape', async () => {
    const res = await new KbsGuest(srv).call('POST', '/kbs/v0/auth', { raw: JSON.stringify({ version: '0.4.0', tee: 'snp', 'extra-params': 'x'.repeat(1024 * 1024) }) });
    expect(res.status).toBe(413);
    expect(res.body.type).toBe(kbsType('AttestationError'));
    expect(typeof res.body.detail).toBe('string');
    expect(res.headers.get('x-tessera-code')).toBe('body_too_large');
  });
});

describe('kbs.enabled', () => {
  it('is off by default in production: /kbs/* is 404 there', async () => {
    const prod = await startServer();
    try {
      const res = await new KbsGuest(prod).auth('snp');
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    } finally {
      await stopServer(prod);
    }
  });
});
