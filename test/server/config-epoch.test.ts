// The configuration epoch (server/storage/epoch-cached.ts, migrations/sqlite/0004_config_epoch.sql):
// the signing key, the active policy and the reference values are cached until the epoch
// moves, and a change made through ANOTHER connection to the same data directory (what the
// CLI and other replicas do) still applies to the very next call; with no change, a call
// reads the epoch and nothing else.

import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { SigningKeyStore } from '../../server/keys/signing-keys.ts';
import { PolicyStore } from '../../server/policies/store.ts';
import { readEpoch } from '../../server/storage/epoch-cached.ts';
import { SqliteConfigEpoch } from '../../server/storage/sqlite/config-epoch.ts';
import { DB_FILE, MIGRATIONS_DIR, type Db } from '../../server/storage/sqlite/connection.ts';
import { openSqliteStore, type SqliteStore } from '../../server/storage/sqlite/index.ts';
import { SqlitePolicies, SqliteReferenceValues } from '../../server/storage/sqlite/policies.ts';
import * as schema from '../../server/storage/sqlite/schema/index.ts';
import { SqliteSigningKeys } from '../../server/storage/sqlite/signing-keys.ts';
import type { Store } from '../../server/storage/store.ts';
import { removeDir, snpAttestBody, startChainServer, stopServer, tempDir, type TestServer } from './helpers.ts';

const HOUR = 3_600_000;
const STRICT = 'tees: [sev-snp]\n';

let chain: SimulatorChain;
let srv: TestServer;
const opened: SqliteStore[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  ({ chain, srv } = await startChainServer());
}, 120_000);

afterAll(() => stopServer(srv));

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) removeDir(d);
});

/** A second connection to `dataDir`, as `tessera keys rotate` or another replica opens it. */
function second(dataDir: string, verbose?: (sql: string) => void): SqliteStore {
  const s = openSqliteStore(dataDir, verbose ? { verbose } : {});
  opened.push(s);
  return s;
}

const kekOf = (server: TestServer) => Buffer.from(server.env.TESSERA_KEK!, 'base64');
const keysOf = (store: Store, kek: Buffer) => new SigningKeyStore(store.signingKeys, store.configEpoch, kek);
const policiesOf = (store: Store) => new PolicyStore(store.policies, store.referenceValues, store.configEpoch);
const rotated = (kid: string) => ({ action: 'key.rotate', outcome: 'success', actor: 'cli', subject: kid });

async function attestKid(): Promise<string> {
  const { body } = await snpAttestBody(srv, chain);
  const res = await srv.call('POST', '/v1/attest', { body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return decodeProtectedHeader(res.body.token as string).kid!;
}

describe('changes through another connection apply at once', () => {
  it('signs the next token with a key rotated through a second connection', async () => {
    const before = await attestKid();
    expect(await attestKid()).toBe(before); // the running store's cache is warm

    const cli = second(srv.dataDir);
    const { kid, retired } = await keysOf(cli, kekOf(srv)).rotate(HOUR, rotated);
    expect(retired).toBe(before);

    expect(await attestKid()).toBe(kid);
    expect((await srv.service.ctx.keys.active()).kid).toBe(kid);
  });

  it('appraises with a policy activated, and reference values changed, through a second connection', async () => {
    const policies = srv.service.ctx.policies;
    const first = await policies.active();
    expect(await policies.active()).toBe(first);
    const refsBefore = await policies.context();
    expect(refsBefore.referenceValues.web).toBeUndefined();

    const other = policiesOf(second(srv.dataDir));
    await other.put('strict', STRICT, 'yaml', 'cli', null);
    await other.activate('strict', undefined, 'cli', null);
    expect(await policies.active()).toMatchObject({ name: 'strict', version: 1 });
    expect((await policies.active()).policy.tees).toEqual(['sev-snp']);

    await other.putReferenceValues('web', ['AA'], 'cli', null);
    expect((await policies.context()).referenceValues.web).toEqual(['aa']);
    await other.putReferenceValues('web', ['bb', 'cc'], 'cli', null);
    expect((await policies.context()).referenceValues.web).toEqual(['bb', 'cc']);

    await other.activate(first.name, first.version, 'cli', null);
    expect(await policies.active()).toMatchObject({ name: first.name, version: first.version, hash: first.hash });
  });
});

describe('with no change, a call reads the epoch only', () => {
  it('returns the cached key, policy and reference values after one read of config_epoch each', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const kek = Buffer.alloc(32, 7);
    const setup = second(dir);
    await keysOf(setup, kek).ensureActive((kid) => ({ action: 'key.create', outcome: 'success', actor: 'test', subject: kid }));
    const setupPolicies = policiesOf(setup);
    await setupPolicies.put('strict', STRICT, 'yaml', 'test', null);
    await setupPolicies.activate('strict', undefined, 'test', null);
    await setupPolicies.putReferenceValues('web', ['aa'], 'test', null);

    // A connection that records every statement it executes.
    const executed: string[] = [];
    const store = second(dir, (sql) => executed.push(sql));
    const keys = keysOf(store, kek);
    const policies = policiesOf(store);
    const key = await keys.active();
    const policy = await policies.active();
    const refs = await policies.context();

    executed.length = 0;
    for (let i = 0; i < 100; i++) {
      expect(await keys.active()).toBe(key);
      expect(await policies.active()).toBe(policy);
      expect(await policies.context()).toBe(refs);
    }
    expect(executed).toHaveLength(300);
    expect(new Set(executed)).toEqual(new Set(['SELECT n FROM config_epoch WHERE id = 1']));

    // One reading shared by the lookups of a request (what an attestation does): one read in all.
    executed.length = 0;
    const reading = await readEpoch(store.configEpoch);
    expect(await keys.active(reading)).toBe(key);
    expect(await policies.active(reading)).toBe(policy);
    expect(await policies.context(reading)).toBe(refs);
    expect(executed).toEqual(['SELECT n FROM config_epoch WHERE id = 1']);

    // A write to a covered table (here through the other connection) makes the next call read again.
    await setupPolicies.putReferenceValues('web', ['bb'], 'test', null);
    executed.length = 0;
    const newer = await policies.context();
    expect(newer.referenceValues.web).toEqual(['bb']);
    expect(executed.some((s) => s.includes('"reference_values"'))).toBe(true);

    // A request still holding the older reading loads for itself, but does not push the
    // newer entry out of the cache: the next current call is a hit again.
    expect((await policies.context(reading)).referenceValues.web).toEqual(['bb']);
    executed.length = 0;
    expect(await policies.context()).toBe(newer);
    expect(executed).toEqual(['SELECT n FROM config_epoch WHERE id = 1']);
  });
});

describe('config_epoch triggers and migration', () => {
  it('moves the epoch on every insert, update and delete of each covered table, and on nothing else', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { configEpoch, sqlite } = second(dir);
    const epoch = () => configEpoch.read();
    const cases: [string, string, string, string][] = [
      [
        'signing_keys',
        "INSERT INTO signing_keys (kid, created_at, public_jwk, private_key) VALUES ('k', 1, '{}', '{}')",
        "UPDATE signing_keys SET retired_at = 2 WHERE kid = 'k'",
        "DELETE FROM signing_keys WHERE kid = 'k'",
      ],
      [
        'active_policy',
        "INSERT INTO active_policy (id, name, version, activated_at) VALUES (1, 'p', 1, 1)",
        'UPDATE active_policy SET version = 2 WHERE id = 1',
        'DELETE FROM active_policy WHERE id = 1',
      ],
      [
        'policy_versions',
        "INSERT INTO policy_versions (name, version, hash, source, format, created_at, created_by) VALUES ('p', 1, 'h', 's', 'yaml', 1, 't')",
        "UPDATE policy_versions SET hash = 'h2' WHERE name = 'p'",
        "DELETE FROM policy_versions WHERE name = 'p'",
      ],
      [
        'reference_values',
        "INSERT INTO reference_values (name, \"values\", updated_at, updated_by) VALUES ('r', '[]', 1, 't')",
        "UPDATE reference_values SET updated_at = 2 WHERE name = 'r'",
        "DELETE FROM reference_values WHERE name = 'r'",
      ],
    ];
    for (const [table, ...writes] of cases) {
      for (const write of writes) {
        const before = (await epoch())!;
        sqlite.prepare(write).run();
        expect(await epoch(), `${table}: ${write}`).toBe(before + 1);
      }
    }
    // What the attestation path writes (challenges, attestations, audit) leaves it alone.
    const before = await epoch();
    sqlite.prepare("INSERT INTO server_secrets (name, created_at, value) VALUES ('s', 1, '{}')").run();
    expect(await epoch()).toBe(before);
    expect(() => sqlite.prepare('INSERT INTO config_epoch (id, n) VALUES (2, 0)').run()).toThrow(/CHECK constraint/);
  });

  it('applies to a database made by migrations 0000-0003 that already has a key and an active policy', async () => {
    const dir = tempDir();
    dirs.push(dir);
    // The migrations folder as it was before 0004.
    const old = join(dir, 'migrations');
    mkdirSync(join(old, 'meta'), { recursive: true });
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: { idx: number; tag: string }[] };
    journal.entries = journal.entries.filter((e) => e.idx <= 3);
    expect(journal.entries.map((e) => e.tag)).toEqual(['0000_server_init', '0001_audit_append_only', '0002_collateral_cache', '0003_secrets']);
    writeFileSync(join(old, 'meta', '_journal.json'), JSON.stringify(journal));
    for (const f of readdirSync(MIGRATIONS_DIR)) if (/^000[0-3]_.*\.sql$/.test(f)) copyFileSync(join(MIGRATIONS_DIR, f), join(old, f));

    const data = join(dir, 'data');
    mkdirSync(data);
    const kek = Buffer.alloc(32, 9);
    const sqlite = new Database(join(data, DB_FILE));
    const oldDb = drizzle(sqlite, { schema }) as Db;
    migrate(oldDb, { migrationsFolder: old });
    expect(sqlite.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'config_epoch'").pluck().get()).toBe(0);
    // rotate() and activate() do not read the epoch, so they work on the old schema (the
    // engine's parts over that connection, as an older version of the service wrote).
    const oldEpoch = new SqliteConfigEpoch(sqlite);
    const { kid } = await new SigningKeyStore(new SqliteSigningKeys(oldDb), oldEpoch, kek).rotate(HOUR, rotated);
    const oldPolicies = new PolicyStore(new SqlitePolicies(oldDb), new SqliteReferenceValues(oldDb), oldEpoch);
    await oldPolicies.put('strict', STRICT, 'yaml', 'test', null);
    await oldPolicies.activate('strict', undefined, 'test', null);
    sqlite.close();

    const store = second(data);
    expect(await store.configEpoch.read()).toBe(0);
    const keys = keysOf(store, kek);
    const policies = policiesOf(store);
    expect((await keys.active()).kid).toBe(kid);
    expect(await policies.active()).toMatchObject({ name: 'strict', version: 1 });

    const again = await keysOf(second(data), kek).rotate(HOUR, rotated);
    expect(await store.configEpoch.read()).toBe(2); // the retirement and the new key
    expect((await keys.active()).kid).toBe(again.kid);
  });
});
