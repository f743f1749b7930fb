// The operator CLI against a data directory: tokens create|list|revoke, keys rotate, and the
// offline audit verification (exit 0 intact, 1 naming the first broken link).

import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_FILE } from '../../server/storage/db.ts';
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
    expect(wrong.stderr).toMatch(/^tessera: the KEK does not open the keys stored in .*: wrong KEK for this data directory\n$/);
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
