// `tessera db migrate`, `tessera db copy` and the operator commands' --database, run as a user
// runs them (bin/tessera.js in its own process) against a real PostgreSQL server
// (test/support/postgres.ts). The URLs carry a password, which must never be printed.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../server/storage/sqlite/index.ts';
import { runTessera, tesseraInScratchDir, type Run } from '../support/cli.ts';
import { usePostgres } from '../support/postgres.ts';

const pgs = usePostgres();
const PASSWORD = 'db-cli-not-printed-7f3a';
const { dir } = tesseraInScratchDir('tessera-db-cli-');

/** `url` with a password added (the local server trusts loopback, so it connects all the same). */
function withPassword(url: string): string {
  const u = new URL(url);
  if (!u.password) u.password = PASSWORD;
  return u.toString();
}

function secretFree(run: Run, url: string): void {
  const password = new URL(url).password;
  expect(run.stdout + run.stderr).not.toContain(password);
}

/** A SQLite deployment with a bit of everything: tokens, a key, policies, attestations and their audit. */
async function sqliteDeployment(): Promise<string> {
  const data = `${dir}/data-${randomBytes(4).toString('hex')}`;
  const store = openSqliteStore(data);
  await store.apiTokens.create({ id: 'a'.repeat(16), name: 'ops', scope: 'admin', hash: '1'.repeat(64), createdAt: 1000, revokedAt: null, expiresAt: null }, { action: 'token.create', outcome: 'success', actor: 'cli' });
  await store.signingKeys.createIfNoActive({ kid: 'k1', createdAt: 1000, retiredAt: null, publishUntil: null, publicJwk: '{"kty":"EC","kid":"k1"}', privateKey: '{"sealed":"x"}' }, { action: 'key.create', outcome: 'success', actor: 'system' });
  await store.policies.putVersion({ name: 'default', hash: 'h', source: 'rules: []', format: 'yaml', createdAt: 1000, createdBy: 'system' }, () => ({ action: 'policy.create', outcome: 'success', actor: 'system' }));
  await store.policies.activate('default', undefined, 1000, () => ({ action: 'policy.activate', outcome: 'success', actor: 'system' }));
  await store.collateral.put({ key: 'snp-crl/Milan/vcek', kind: 'snp-crl', bytes: new Uint8Array([0, 1, 255]), source: 'amd-kds', fetchedAt: new Date(1000), nextUpdate: new Date(9000), immutable: false });
  await store.secrets.put('db', (version) => ({
    row: { createdAt: 1000, createdBy: 'admin', description: null, labels: { env: 'prod' }, releasePolicy: null, acceptPolicies: null, acceptStatuses: ['affirming'], value: `{"sealed":${version}}`, size: 5, deletedAt: null, deletedBy: null },
    audit: { action: 'secret.put', outcome: 'success', actor: 'admin', subject: 'db' },
  }));
  for (let i = 0; i < 30; i++) {
    const id = randomBytes(8).toString('hex');
    await store.attestations.record({
      challenge: { nonce: randomBytes(16).toString('base64url'), expiresAt: Date.now() + 60_000 },
      attestation: { id, createdAt: Date.now(), tee: 'tdx', status: 'affirming', policyName: 'default', policyVersion: 1, policyHash: 'h', claimsDigest: null, tokenJti: id, clientAddress: null, result: '{}' },
      audit: [{ action: 'attestation', outcome: 'affirming', actor: 'anonymous', subject: id, details: { n: i } }],
    });
  }
  await store.close();
  return data;
}

describe('tessera db', () => {
  it('migrate applies the migrations once, then finds nothing to apply', async () => {
    const url = withPassword(await pgs.fresh());
    const first = await runTessera(['db', 'migrate', '--database', url]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/up to date \([1-9]\d* applied now\)/);
    const again = await runTessera(['db', 'migrate'], { env: { ...process.env, TESSERA_DATABASE_URL: url } });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/\(0 applied now\)/);
    secretFree(first, url);
    secretFree(again, url);
  });

  it('copies a SQLite deployment with its audit chain intact, same head, and refuses a non-empty target', async () => {
    const data = await sqliteDeployment();
    const url = withPassword(await pgs.fresh());
    const before = await runTessera(['audit', 'verify', '--data', data, '--json']);
    expect(before.code).toBe(0);
    const sourceHead = (JSON.parse(before.stdout) as { head: { seq: number; hash: string } }).head;
    expect(sourceHead.seq).toBe(35);

    const copy = await runTessera(['db', 'copy', '--from', data, '--to', url]);
    expect(copy.stderr).toBe('');
    expect(copy.code).toBe(0);
    expect(copy.stdout).toContain(`audit chain intact on the copy: 35 entries, head 35 ${sourceHead.hash}`);
    expect(copy.stdout).toMatch(/attestations 30/);
    expect(copy.stdout).toMatch(/secret_versions 1, .*collateral_documents 1/);
    secretFree(copy, url);

    const after = await runTessera(['audit', 'verify', '--database', url, '--json']);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ ok: true, checked: 35, head: sourceHead });
    const tokens = await runTessera(['tokens', 'list', '--database', url, '--json']);
    expect(tokens.code).toBe(0);
    expect(tokens.stdout).toContain('a'.repeat(16));

    const twice = await runTessera(['db', 'copy', '--from', data, '--to', url]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/not empty \(audit_log, .*\)/);
    secretFree(twice, url);
    const still = await runTessera(['audit', 'verify', '--database', url, '--json']);
    expect(JSON.parse(still.stdout)).toMatchObject({ ok: true, checked: 35 });
  });

  it('answers an unreachable database with a clear error (exit 2), never the password', async () => {
    const url = `postgres://tessera:${PASSWORD}@127.0.0.1:1/nothing`;
    for (const args of [
      ['audit', 'verify', '--database', url],
      ['db', 'migrate', '--database', url],
      ['db', 'copy', '--from', dir, '--to', url],
      ['serve', '--database', url, '--port', '0'],
    ]) {
      const run = await runTessera(args, { env: { ...process.env, TESSERA_KEK: randomBytes(32).toString('base64') }, timeout: 60_000 });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^tessera: /);
      secretFree(run, url);
    }
  });

  it('refuses an operator command on a database that tessera never set up', async () => {
    const url = withPassword(await pgs.fresh());
    const run = await runTessera(['tokens', 'list', '--database', url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no tessera database at postgres:\/\/postgres:\*\*\*@/);
    secretFree(run, url);
  });
});
