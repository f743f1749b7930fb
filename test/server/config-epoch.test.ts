// The configuration epoch (server/storage/config-epoch.ts, migrations/0004_config_epoch.sql):
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
import { configEpochReader } from '../../server/storage/config-epoch.ts';
import { DB_FILE, MIGRATIONS_DIR, openStorage, type Db, type Storage } from '../../server/storage/db.ts';
import * as schema from '../../server/storage/schema/index.ts';
import { removeDir, snpAttestBody, startChainServer, stopServer, tempDir, type TestServer } from './helpers.ts';

const HOUR = 3_600_000;
const STRICT = 'tees: [sev-snp]\n';

let chain: SimulatorChain;
let srv: TestServer;
const opened: Storage[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  ({ chain, srv } = await startChainServer());
}, 120_000);

afterAll(() => stopServer(srv));

afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  for (const d of dirs.splice(0)) removeDir(d);
});

/** A second connection to `dataDir`, as `tessera keys rotate` or another replica opens it. */
function second(dataDir: string): Storage {
  const s = openStorage(dataDir);
  opened.push(s);
  return s;
}

const kekOf = (server: TestServer) => Buffer.from(server.env.TESSERA_KEK!, 'base64');
const epochOf = (db: Db) => configEpochReader(db.$client)();

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
    const { kid, retired } = await new SigningKeyStore(cli.db, kekOf(srv)).rotate(HOUR);
    expect(retired).toBe(before);

    expect(await attestKid()).toBe(kid);
    expect(srv.service.ctx.keys.active().kid).toBe(kid);
  });

  it('appraises with a policy activated, and reference values changed, through a second connection', () => {
    const policies = srv.service.ctx.policies;
    const first = policies.active();
    expect(policies.active()).toBe(first);
    const refsBefore = policies.context();
    expect(refsBefore.referenceValues.web).toBeUndefined();

    const other = new PolicyStore(second(srv.dataDir).db);
    other.put('strict', STRICT, 'yaml', 'cli', null);
    other.activate('strict', undefined, 'cli', null);
    expect(policies.active()).toMatchObject({ name: 'strict', version: 1 });
    expect(policies.active().policy.tees).toEqual(['sev-snp']);

    other.putReferenceValues('web', ['AA'], 'cli', null);
    expect(policies.context().referenceValues.web).toEqual(['aa']);
    other.putReferenceValues('web', ['bb', 'cc'], 'cli', null);
    expect(policies.context().referenceValues.web).toEqual(['bb', 'cc']);

    other.activate(first.name, first.version, 'cli', null);
    expect(policies.active()).toMatchObject({ name: first.name, version: first.version, hash: first.hash });
  });

  it('keeps nothing read inside a transaction that rolls back, even when another connection later commits the same epoch', () => {
    const dir = tempDir();
    dirs.push(dir);
    const a = second(dir);
    const b = second(dir);
    const mine = new PolicyStore(a.db);
    const theirs = new PolicyStore(b.db);
    for (const n of ['one', 'two', 'three']) mine.put(n, STRICT, 'yaml', 'test', null);
    mine.activate('one', undefined, 'test', null);
    expect(mine.active().name).toBe('one');

    let inside = -1;
    expect(() =>
      a.sqlite.transaction(() => {
        mine.activate('two', undefined, 'test', null);
        expect(mine.active().name).toBe('two');
        inside = epochOf(a.db)!;
        throw new Error('roll back');
      })(),
    ).toThrow('roll back');
    // (Not through mine.active(): a read now would replace what the transaction left in the cache.)
    expect(a.sqlite.prepare('SELECT name FROM active_policy').pluck().get()).toBe('one');

    theirs.activate('three', undefined, 'test', null);
    // The same write through the other connection reaches the epoch seen inside the rolled-back transaction.
    expect(epochOf(a.db)).toBe(inside);
    expect(mine.active().name).toBe('three');
  });
});

describe('with no change, a call reads the epoch only', () => {
  it('returns the cached key, policy and reference values after one read of config_epoch each', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const kek = Buffer.alloc(32, 7);
    const setup = second(dir);
    await new SigningKeyStore(setup.db, kek).ensureActive();
    const setupPolicies = new PolicyStore(setup.db);
    setupPolicies.put('strict', STRICT, 'yaml', 'test', null);
    setupPolicies.activate('strict', undefined, 'test', null);
    setupPolicies.putReferenceValues('web', ['aa'], 'test', null);

    // A connection that records every statement it executes.
    const executed: string[] = [];
    const sqlite = new Database(join(dir, DB_FILE), { verbose: (sql) => executed.push(String(sql)) });
    const db = drizzle(sqlite, { schema }) as Db;
    opened.push({ db, sqlite, close: () => sqlite.close() });
    const keys = new SigningKeyStore(db, kek);
    const policies = new PolicyStore(db);
    const key = keys.active();
    const policy = policies.active();
    const refs = policies.context();

    executed.length = 0;
    for (let i = 0; i < 100; i++) {
      expect(keys.active()).toBe(key);
      expect(policies.active()).toBe(policy);
      expect(policies.context()).toBe(refs);
    }
    expect(executed).toHaveLength(300);
    expect(new Set(executed)).toEqual(new Set(['SELECT n FROM config_epoch WHERE id = 1']));

    // A write to a covered table (here through the same connection) makes the next call read again.
    setupPolicies.putReferenceValues('web', ['bb'], 'test', null);
    executed.length = 0;
    expect(policies.context().referenceValues.web).toEqual(['bb']);
    expect(executed.some((s) => s.includes('"reference_values"'))).toBe(true);
  });
});

describe('config_epoch triggers and migration', () => {
  it('moves the epoch on every insert, update and delete of each covered table, and on nothing else', () => {
    const dir = tempDir();
    dirs.push(dir);
    const { db, sqlite } = second(dir);
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
        const before = epochOf(db)!;
        sqlite.prepare(write).run();
        expect(epochOf(db), `${table}: ${write}`).toBe(before + 1);
      }
    }
    // What the attestation path writes (challenges, attestations, audit) leaves it alone.
    const before = epochOf(db);
    sqlite.prepare("INSERT INTO server_secrets (name, created_at, value) VALUES ('s', 1, '{}')").run();
    expect(epochOf(db)).toBe(before);
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
    // rotate() and activate() do not read the epoch, so they work on the old schema.
    const { kid } = await new SigningKeyStore(oldDb, kek).rotate(HOUR);
    const oldPolicies = new PolicyStore(oldDb);
    oldPolicies.put('strict', STRICT, 'yaml', 'test', null);
    oldPolicies.activate('strict', undefined, 'test', null);
    sqlite.close();

    const { db } = second(data);
    expect(epochOf(db)).toBe(0);
    const keys = new SigningKeyStore(db, kek);
    const policies = new PolicyStore(db);
    expect(keys.active().kid).toBe(kid);
    expect(policies.active()).toMatchObject({ name: 'strict', version: 1 });

    const rotated = await new SigningKeyStore(second(data).db, kek).rotate(HOUR);
    expect(epochOf(db)).toBe(2); // the retirement and the new key
    expect(keys.active().kid).toBe(rotated.kid);
  });
});
