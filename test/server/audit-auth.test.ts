/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// The audit log (chain verification, tamper detection in the SQLite file, filters and
// keyset pagination) and API-token authentication (scopes, revocation, failed attempts
// audited, tokens never stored or echoed).

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_FILE } from '../../server/storage/sqlite/connection.ts';
import { asSqliteStore } from '../../server/storage/sqlite/index.ts';
import { NotDurableError } from '../../server/storage/store.ts';
import { removeDir, startServer, type TestServer } from './helpers.ts';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer();
});

afterAll(async () => {
  await srv?.stop();
  if (srv) removeDir(srv.dataDir);
});

describe('API tokens and scopes', () => {
  it('creates tokens shown once, stores only their hash, enforces scopes, and revokes', async () => {
    const created = await srv.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name: 'alice-auditor', scope: 'auditor' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'alice-auditor', scope: 'auditor', revokedAt: null });
    const auditor = created.body.token as string;
    expect(auditor).toMatch(/^tsr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);

    // Only the SHA-256 is in the database, and no listing shows the token.
    const db = new Database(join(srv.dataDir, DB_FILE), { readonly: true });
    const rows = db.prepare('SELECT * FROM api_tokens').all() as Record<string, unknown>[];
    db.close();
    expect(JSON.stringify(rows)).not.toContain(auditor);
    expect(rows.map((r) => r.hash)).toContain(createHash('sha256').update(auditor).digest('hex'));
    const list = await srv.call('GET', '/v1/tokens', { token: srv.adminToken });
    expect(JSON.stringify(list.body)).not.toContain(auditor.slice(22));
    expect(list.body.tokens.map((t: any) => t.name)).toEqual(expect.arrayContaining(['initial-admin', 'alice-auditor']));

    // Auditor: may read the audit log and policies, may not change anything.
    expect((await srv.call('GET', '/v1/audit', { token: auditor })).status).toBe(200);
    expect((await srv.call('GET', '/v1/policies', { token: auditor })).status).toBe(200);
    const put = await srv.call('PUT', '/v1/policies/x', { token: auditor, body: {} });
    expect([put.status, put.body.code]).toEqual([403, 'insufficient_scope']);
    expect((await srv.call('POST', '/v1/tokens', { token: auditor, body: { name: 'x', scope: 'admin' } })).status).toBe(403);
    expect((await srv.call('POST', '/v1/keys/rotate', { token: auditor })).status).toBe(403);
    expect((await srv.call('GET', '/v1/policies/x')).status).toBe(401);

    const revoked = await srv.call('DELETE', `/v1/tokens/${created.body.id}`, { token: srv.adminToken });
    expect(revoked.body.revokedAt).not.toBeNull();
    const after = await srv.call('GET', '/v1/audit', { token: auditor });
    expect([after.status, after.body.code]).toEqual([401, 'token_revoked']);
    expect((await srv.call('DELETE', '/v1/tokens/0000000000000000', { token: srv.adminToken })).body.code).toBe('token_not_found');
  });

  it('refuses missing, malformed and unknown tokens with 401, and audits each attempt without the token', async () => {
    const forged = `tsr_${'0'.repeat(16)}_${'A'.repeat(43)}`;
    const attempts: [Record<string, string>, number][] = [
      [{}, 401],
      [{ authorization: 'Basic YWRtaW46YWRtaW4=' }, 401],
      [{ authorization: `Bearer ${forged}` }, 401],
      [{ authorization: `Bearer ${srv.adminToken}x` }, 401],
    ];
    for (const [headers, status] of attempts) {
      const res = await srv.call('GET', '/v1/tokens', { headers });
      expect(res.status).toBe(status);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tessera"');
      expect(res.body.code).toBe('unauthenticated');
    }
    const audit = await srv.call('GET', '/v1/audit?action=auth.failure&limit=4', { token: srv.adminToken });
    expect(audit.body.entries).toHaveLength(4);
    expect(audit.body.entries[0]).toMatchObject({ outcome: 'failure', subject: 'GET /v1/tokens', clientAddress: '127.0.0.1' });
    expect(JSON.stringify(audit.body)).not.toContain(forged);
    expect(JSON.stringify(audit.body)).not.toContain(srv.adminToken);
  });

  it('refuses a token past its expiry with 401 token_expired, audited; expiresInDays is bounded', async () => {
    const created = await srv.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name: 'one-day', scope: 'auditor', expiresInDays: 1 } });
    expect(created.status).toBe(201);
    expect(Date.parse(created.body.expiresAt) - Date.parse(created.body.createdAt)).toBe(86_400_000);
    const token = created.body.token as string;
    expect((await srv.call('GET', '/v1/audit', { token })).status).toBe(200);
    // A day later, as far as the row is concerned.
    const db = new Database(join(srv.dataDir, DB_FILE));
    db.prepare('UPDATE api_tokens SET expires_at = ? WHERE id = ?').run(Date.now() - 1, created.body.id);
    db.close();
    const expired = await srv.call('GET', '/v1/audit', { token });
    expect([expired.status, expired.body.code]).toEqual([401, 'token_expired']);
    const audit = await srv.call('GET', '/v1/audit?action=auth.failure&limit=1', { token: srv.adminToken });
    expect(audit.body.entries[0].details).toMatchObject({ reason: 'the token has expired' });
    const listed = (await srv.call('GET', '/v1/tokens', { token: srv.adminToken })).body.tokens.find((t: any) => t.id === created.body.id);
    expect(listed.expiresAt).not.toBeNull();
    expect((await srv.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name: 'forever', scope: 'auditor' } })).body.expiresAt).toBeNull();
    for (const days of [0, 3651, 1.5, '7']) {
      const bad = await srv.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name: 'x', scope: 'auditor', expiresInDays: days } });
      expect([bad.status, bad.body.code], String(days)).toEqual([400, 'request_invalid']);
    }
  });

  it('signs an audit head only once it is durable: after a failed WAL sync, 503 database_unavailable', async () => {
    const own = await startServer();
    try {
      const ok = await own.call('GET', '/v1/audit/head', { token: own.adminToken });
      expect(ok.status).toBe(200);
      asSqliteStore(own.service.store).commits.failure = new NotDurableError(new Error('EIO'));
      const refused = await own.call('GET', '/v1/audit/head', { token: own.adminToken });
      expect([refused.status, refused.body.code]).toEqual([503, 'database_unavailable']);
    } finally {
      await own.stop();
      removeDir(own.dataDir);
    }
  });

  it('accepts TESSERA_ADMIN_TOKEN as an admin credential and then prints no token', async () => {
    const token = 'x'.repeat(40);
    const other = await startServer({ env: { TESSERA_KEK: Buffer.alloc(32, 7).toString('base64'), TESSERA_ADMIN_TOKEN: token } });
    try {
      // The helper records any announced token in adminToken: none was announced.
      expect(other.adminToken).toBe(token);
      expect((await other.call('GET', '/v1/tokens', { token })).body.tokens).toEqual([]);
      expect((await other.call('GET', '/v1/tokens', { token: 'y'.repeat(40) })).status).toBe(401);
    } finally {
      await other.stop();
      removeDir(other.dataDir);
    }
  });

  it('bounds refused authentications per address: past the limit 429, audited once, while valid tokens still work', async () => {
    const limited = await startServer({ config: { rateLimit: { windowSeconds: 60, challenge: 0, attest: 0, authFailures: 3 } } });
    try {
      const failures = async () => (await limited.call('GET', '/v1/audit?action=auth.failure&limit=100', { token: limited.adminToken })).body.entries as any[];
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await limited.call('GET', '/v1/policies', { token: i % 2 === 0 ? undefined : 'tsr_0000000000000000_' + 'B'.repeat(43) })).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
      const over = await limited.call('GET', '/v1/tokens');
      expect([over.status, over.body.code]).toEqual([429, 'rate_limited']);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      // Three refusals audited one by one, then one entry that says the rest are not.
      const entries = await failures();
      expect(entries).toHaveLength(4);
      expect(entries.filter((e) => e.details.rateLimited)).toHaveLength(1);
      expect(entries[0].details.rateLimited).toMatch(/more than 3 refused authentications/);
      // A valid token from the same address is not limited, and adds nothing to the log.
      expect((await limited.call('GET', '/v1/policies', { token: limited.adminToken })).status).toBe(200);
      expect(await failures()).toHaveLength(4);
      const spec = (await limited.call('GET', '/openapi.json')).body;
      expect(Object.keys(spec.paths['/v1/tokens'].get.responses)).toEqual(expect.arrayContaining(['401', '403', '429']));
      expect(Object.keys(spec.paths['/v1/audit'].get.responses)).toEqual(expect.arrayContaining(['401', '429']));
    } finally {
      await limited.stop();
      removeDir(limited.dataDir);
    }
  });
});

describe('audit log', () => {
  it('pages newest first with a keyset cursor, and filters', async () => {
    for (let i = 0; i < 7; i++) await srv.call('PUT', `/v1/reference-values/page-${i}`, { token: srv.adminToken, body: { values: ['aa'] } });
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/v1/audit?action=reference-values.put&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await srv.call('GET', q, { token: srv.adminToken });
      expect(res.status).toBe(200);
      seen.push(...res.body.entries.map((e: any) => e.seq));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(7);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
    const subjects = (await srv.call('GET', '/v1/audit?action=reference-values.put&limit=7', { token: srv.adminToken })).body.entries.map((e: any) => e.subject);
    expect(subjects).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `page-${i}`));

    const now = Date.now();
    const none = await srv.call('GET', `/v1/audit?from=${new Date(now + 60_000).toISOString()}`, { token: srv.adminToken });
    expect(none.body).toEqual({ entries: [], nextCursor: null });
    const some = await srv.call('GET', `/v1/audit?from=${new Date(now - 60_000).toISOString()}&to=${new Date(now + 60_000).toISOString()}&subject=page-3`, { token: srv.adminToken });
    expect(some.body.entries).toHaveLength(1);

    for (const bad of ['limit=0', 'limit=501', 'limit=abc', 'from=yesterday', 'cursor=zzz']) {
      const res = await srv.call('GET', `/v1/audit?${bad}`, { token: srv.adminToken });
      expect(res.status, bad).toBe(400);
      expect(res.body.code, bad).toMatch(/^(request_invalid|cursor_invalid)$/);
    }
  });

  it('verifies the chain, and names the first broken link after the SQLite file is edited', async () => {
    const good = await srv.call('GET', '/v1/audit/verify', { token: srv.adminToken });
    expect(good.body.ok).toBe(true);
    expect(good.body.checked).toBeGreaterThan(10);
    expect(good.body.head.seq).toBe(good.body.checked);

    const db = new Database(join(srv.dataDir, DB_FILE));
    // The triggers refuse edits through SQL...
    expect(() => db.prepare("UPDATE audit_log SET outcome = 'success' WHERE seq = 5").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 5').run()).toThrow(/append-only/);
    // ...but whoever can write the file can drop them: the chain is what catches it.
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare("UPDATE audit_log SET details = json_set(details, '$.name', 'mallory') WHERE seq = 5").run();
    db.close();

    const broken = await srv.call('GET', '/v1/audit/verify', { token: srv.adminToken });
    expect(broken.body.ok).toBe(false);
    expect(broken.body.firstBroken).toMatchObject({ seq: 5, reason: 'hash_mismatch' });
    expect(broken.body.checked).toBe(4);
    expect(broken.body.head.seq).toBe(4);
  });
});
