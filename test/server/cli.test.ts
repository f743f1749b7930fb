// The operator CLI against a data directory: tokens create|list|revoke, keys rotate, and the
// offline audit verification (exit 0 intact, 1 naming the first broken link).

import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_FILE } from '../../server/storage/sqlite/connection.ts';
import { removeDir, startServer, tempDir, type TestServer } from './helpers.ts';

const BIN = new URL('../../bin/tessera.js', import.meta.url).pathname;
const run = promisify(execFile);

let srv: TestServer;

async function tessera(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, TESSERA_KEK: srv.env.TESSERA_KEK } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  srv = await startServer();
});

afterAll(async () => {
  await srv?.stop();
  if (srv) removeDir(srv.dataDir);
});

describe('tessera tokens, keys and audit', () => {
  it('manages tokens that the running server accepts at once', async () => {
    const created = await tessera(['tokens', 'create', '--name', 'ci', '--scope', 'auditor', '--data', srv.dataDir, '--json']);
    expect(created.code, created.stderr).toBe(0);
    const { id, token } = JSON.parse(created.stdout) as { id: string; token: string };
    expect((await srv.call('GET', '/v1/audit', { token })).status).toBe(200);

    const list = await tessera(['tokens', 'list', '--data', srv.dataDir]);
    expect(list.stdout).toContain(`${id}  auditor  active  ci`);
    expect(list.stdout).not.toContain(token.slice(22));

    expect((await tessera(['tokens', 'revoke', id, '--data', srv.dataDir])).code).toBe(0);
    expect((await srv.call('GET', '/v1/audit', { token })).body.code).toBe('token_revoked');

    // --expires-in-days: the expiry is stored, listed and audited; a bad count is refused.
    const expiring = await tessera(['tokens', 'create', '--name', 'ci-30d', '--scope', 'auditor', '--expires-in-days', '30', '--data', srv.dataDir, '--json']);
    expect(expiring.code, expiring.stderr).toBe(0);
    const e = JSON.parse(expiring.stdout) as { id: string; token: string; createdAt: string; expiresAt: string };
    expect(Date.parse(e.expiresAt) - Date.parse(e.createdAt)).toBe(30 * 86_400_000);
    expect((await srv.call('GET', '/v1/audit', { token: e.token })).status).toBe(200);
    expect((await tessera(['tokens', 'list', '--data', srv.dataDir])).stdout).toContain(`${e.id}  auditor  active until ${e.expiresAt}  ci-30d`);
    const created30 = await srv.call('GET', `/v1/audit?action=token.create&subject=${e.id}`, { token: srv.adminToken });
    expect(created30.body.entries[0].details).toEqual({ name: 'ci-30d', scope: 'auditor', expiresAt: e.expiresAt });
    for (const bad of ['0', '1.5', '3651', 'soon']) {
      const refused = await tessera(['tokens', 'create', '--name', 'x', '--scope', 'auditor', '--expires-in-days', bad, '--data', srv.dataDir]);
      expect(refused.code, bad).toBe(2);
      expect(refused.stderr).toMatch(/--expires-in-days must be a whole number of days from 1 to 3650/);
    }
    const bad = await tessera(['tokens', 'create', '--name', 'x', '--scope', 'root', '--data', srv.dataDir]);
    expect(bad.code).toBe(2);
    const audit = await srv.call('GET', '/v1/audit?action=token.revoke', { token: srv.adminToken });
    expect(audit.body.entries[0]).toMatchObject({ actor: 'cli', subject: id });
  });

  it('rotates the signing key under the running server, whose JWKS then publishes both keys', async () => {
    const before = (await srv.call('GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    const rotated = await tessera(['keys', 'rotate', '--data', srv.dataDir, '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const r = JSON.parse(rotated.stdout) as { kid: string; retired: string };
    expect(r.retired).toBe(before[0]);
    const after = (await srv.call('GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    expect(after).toEqual([r.kid, r.retired]);
    // --revoke-previous: the key just retired leaves the JWKS at once, and the audit says so.
    const revoked = await tessera(['keys', 'rotate', '--revoke-previous', '--data', srv.dataDir]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`^active key: (\\S+)\nretired key: ${r.kid} \\(revoked: withdrawn from the JWKS, its tokens no longer verify\\)\n$`));
    const newest = /^active key: (\S+)/.exec(revoked.stdout)![1]!;
    expect((await srv.call('GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid)).toEqual([newest, r.retired]);
    const audit = await srv.call('GET', '/v1/audit?action=key.rotate', { token: srv.adminToken });
    expect(audit.body.entries[0]).toMatchObject({ actor: 'cli', details: { kid: newest, retired: r.kid, revokedPrevious: true } });
    // A wrong KEK is refused, naming the problem, without a stack trace.
    const wrong = await run(process.execPath, [BIN, 'keys', 'rotate', '--data', srv.dataDir], { env: { PATH: process.env.PATH, TESSERA_KEK: Buffer.alloc(32, 1).toString('base64') } }).catch((e) => e);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^tessera: the KEK does not open the keys stored in .*: wrong KEK for this database\n$/);
  });

  it('verifies the audit chain offline, and exits 1 naming the first broken link', async () => {
    const ok = await tessera(['audit', 'verify', '--data', srv.dataDir]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^audit chain intact: \d+ entries, head \d+ [0-9a-f]{64}\n$/);

    const db = new Database(join(srv.dataDir, DB_FILE));
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2").run();
    db.close();
    const broken = await tessera(['audit', 'verify', '--data', srv.dataDir, '--json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, checked: 1, firstBroken: { seq: 2, reason: 'hash_mismatch' } });
    expect((await tessera(['audit', 'verify', '--data', join(srv.dataDir, 'missing')])).code).toBe(2);
  });

  it('a signed head from GET /v1/audit/head catches a log cut short or rewritten, which the chain alone cannot', async () => {
    const own = await startServer();
    try {
      const dir = tempDir('tessera-head-');
      const headFile = join(dir, 'head.jws');
      const got = await own.call('GET', '/v1/audit/head', { token: own.adminToken });
      expect(got.status).toBe(200);
      const { seq, hash, signed } = got.body as { seq: number; hash: string; signed: string };
      expect(seq).toBeGreaterThan(1);
      // A JWS any relying party can check with the JWKS, and never mistaken for an EAR token.
      const { payload, protectedHeader } = await jwtVerify(signed, createRemoteJWKSet(new URL(`${own.url}/.well-known/jwks.json`)), { typ: 'tessera-audit-head+jwt' });
      expect([payload.seq, payload.hash, protectedHeader.alg]).toEqual([seq, hash, 'ES256']);
      writeFileSync(headFile, `${signed}\n`);
      const verify = (dataDir: string) => tessera(['audit', 'verify', '--data', dataDir, '--head', headFile]);

      // More entries after the head: still holds it.
      expect((await own.call('POST', '/v1/tokens', { token: own.adminToken, body: { name: 'later', scope: 'auditor' } })).status).toBe(201);
      const holds = await verify(own.dataDir);
      expect(holds.code, holds.stderr).toBe(0);
      expect(holds.stdout).toMatch(new RegExp(`holds the head signed at .* \\(entry ${seq}\\)\n$`));

      // Cut short: the tail from the signed entry on is gone, and the chain alone still verifies.
      const db = new Database(join(own.dataDir, DB_FILE));
      db.exec('DROP TRIGGER audit_log_no_delete');
      db.prepare('DELETE FROM audit_log WHERE seq >= ?').run(seq);
      db.close();
      expect((await tessera(['audit', 'verify', '--data', own.dataDir])).code).toBe(0);
      const cut = await verify(own.dataDir);
      expect(cut.code).toBe(1);
      expect(cut.stdout).toContain(`audit log CUT SHORT or REWRITTEN: the log ends at entry ${seq - 1}, but a head signed at`);

      // Rewritten: new entries appended after the cut take the signed seq with another hash.
      expect((await own.call('POST', '/v1/tokens', { token: own.adminToken, body: { name: 'rewrite', scope: 'auditor' } })).status).toBe(201);
      expect((await tessera(['audit', 'verify', '--data', own.dataDir])).code).toBe(0);
      const rewritten = await tessera(['audit', 'verify', '--data', own.dataDir, '--head', headFile, '--json']);
      expect(rewritten.code).toBe(1);
      expect(JSON.parse(rewritten.stdout).headMismatch).toMatch(new RegExp(`^entry ${seq} hashes to [0-9a-f]{64}, but the head signed at .* says ${hash}: the log was rewritten from there$`));

      // What is not a head signed by this data directory's keys is refused as unreadable.
      writeFileSync(join(dir, 'junk'), 'not a jws');
      const junk = await tessera(['audit', 'verify', '--data', own.dataDir, '--head', join(dir, 'junk')]);
      expect([junk.code, junk.stderr]).toEqual([2, expect.stringContaining('not a signed audit head')]);
      const other = await srv.call('GET', '/v1/audit/head', { token: srv.adminToken });
      writeFileSync(join(dir, 'other'), other.body.signed);
      const foreign = await tessera(['audit', 'verify', '--data', own.dataDir, '--head', join(dir, 'other')]);
      expect([foreign.code, foreign.stderr]).toEqual([2, expect.stringContaining('signed by a key this data directory never had')]);
      removeDir(dir);
    } finally {
      await own.stop();
      removeDir(own.dataDir);
    }
  });
});

describe('tessera serve', () => {
  it('starts, prints the admin token once, serves, and on SIGTERM stops and closes the database', async () => {
    const dataDir = tempDir();
    const child = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', '0'], {
      env: { PATH: process.env.PATH, TESSERA_KEK: Buffer.alloc(32, 9).toString('base64') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const started = Date.now();
    while (!/"msg":"tessera listening"/.test(stdout) && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 100));
    const url = (JSON.parse(stdout.split('\n').find((l) => l.includes('tessera listening'))!) as { url: string }).url;
    const token = /tsr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(stderr)?.[0];
    expect(token).toBeDefined();
    expect(stdout).not.toContain(token!);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/v1/tokens`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(existsSync(join(dataDir, `${DB_FILE}-wal`))).toBe(true);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('"msg":"stopped"');
    // The last connection closed: SQLite checkpointed and removed the write-ahead log.
    expect(existsSync(join(dataDir, `${DB_FILE}-wal`))).toBe(false);
    removeDir(dataDir);
  });
});
