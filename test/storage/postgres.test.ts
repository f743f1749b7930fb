// The storage contract (contract.ts) on the PostgreSQL engine, each test on a database of its
// own (test/support/postgres.ts: a real server, never a mock), the second store a second
// pool on the same database, as another replica opens it; then what only PostgreSQL has to
// show: several pools (replicas) appending, racing one nonce, migrating at once, and the
// database going away and coming back.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../server/audit/log.ts';
import type { ChallengeError } from '../../server/challenge.ts';
import { openPostgresStore, type PostgresStore } from '../../server/storage/postgres/index.ts';
import { StoreUnavailableError, type AttestationRecord, type Store } from '../../server/storage/store.ts';
import { describeStoreContract } from './contract.ts';
import { usePostgres } from '../support/postgres.ts';

const pgs = usePostgres();

describeStoreContract('postgres', async () => {
  const url = await pgs.fresh();
  const opened: Store[] = [];
  const open = async () => {
    const s = await openPostgresStore(url, { poolSize: 4 });
    opened.push(s);
    return s;
  };
  return {
    store: await open(),
    second: open,
    async dispose() {
      for (const s of opened) await s.close();
    },
  };
});

const nonce = () => randomBytes(32).toString('base64url');
function record(n = nonce()): AttestationRecord {
  const id = randomBytes(16).toString('hex');
  return {
    challenge: { nonce: n, expiresAt: Date.now() + 60_000 },
    attestation: { id, createdAt: Date.now(), tee: 'tdx', status: 'affirming', policyName: 'default', policyVersion: 1, policyHash: 'ab'.repeat(32), claimsDigest: null, tokenJti: id, clientAddress: null, result: '{}' },
    audit: [{ action: 'attestation', outcome: 'affirming', actor: 'anonymous', subject: id }],
  };
}

async function stores(url: string, n: number): Promise<PostgresStore[]> {
  return Promise.all(Array.from({ length: n }, () => openPostgresStore(url, { poolSize: 3 })));
}

async function closeAll(list: Store[]): Promise<void> {
  for (const s of list) await s.close();
}

describe('PostgreSQL engine across replicas', () => {
  it('keeps one gap-free chain when four pools append and record at once', async () => {
    const url = await pgs.fresh();
    const replicas = await stores(url, 4);
    try {
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        const s = replicas[i % 4]!;
        work.push(i % 3 === 0 ? s.audit.append([{ action: `a${i}`, outcome: 'success', actor: 'test' }]) : s.attestations.record(record()));
      }
      await Promise.all(work);
      const report = await verifyAuditChain(replicas[1]!.audit);
      expect(report).toMatchObject({ ok: true, checked: 200 });
      expect(report.head!.seq).toBe(200);
      expect(await replicas[2]!.audit.head()).toEqual(report.head);
    } finally {
      await closeAll(replicas);
    }
  });

  it('lets exactly one of 64 records of one nonce commit over four pools', async () => {
    const url = await pgs.fresh();
    const replicas = await stores(url, 4);
    try {
      const shared = nonce();
      const outcomes = await Promise.allSettled(Array.from({ length: 64 }, (_, i) => replicas[i % 4]!.attestations.record(record(shared))));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as ChallengeError).code).toBe('challenge_replayed');
      expect(await replicas[0]!.audit.count({ action: 'attestation' })).toBe(1);
      expect((await verifyAuditChain(replicas[3]!.audit)).ok).toBe(true);
    } finally {
      await closeAll(replicas);
    }
  });

  it('migrates an empty database once when five replicas open it at once', async () => {
    const url = await pgs.fresh();
    const replicas = await stores(url, 5);
    try {
      const applied = replicas.map((r) => r.migrationsApplied).sort();
      expect(applied.filter((n) => n > 0)).toHaveLength(1);
      expect(applied.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
      const { rows } = await replicas[0]!.database.pool.query<{ n: string }>('SELECT count(*) AS n FROM drizzle.__drizzle_migrations');
      expect(Number(rows[0]!.n)).toBe(applied.reduce((a, b) => a + b, 0));
      expect(await replicas[4]!.configEpoch.read()).toBe(0);
    } finally {
      await closeAll(replicas);
    }
  });

  it('refuses to update, delete or truncate the audit log, whoever asks', async () => {
    const url = await pgs.fresh();
    const [store] = await stores(url, 1);
    try {
      await store!.audit.append([{ action: 'x', outcome: 'success', actor: 'test' }]);
      for (const q of ["UPDATE audit_log SET action = 'y'", 'DELETE FROM audit_log', 'TRUNCATE audit_log']) {
        await expect(store!.database.pool.query(q), q).rejects.toThrow(/append-only/);
      }
      expect(await store!.audit.count()).toBe(1);
    } finally {
      await closeAll([store!]);
    }
  });

  it('counts rate limits across replicas: the deployment gets the limit, not each replica', async () => {
    const url = await pgs.fresh();
    const replicas = await stores(url, 3);
    try {
      const now = Date.now();
      const decisions = await Promise.all(Array.from({ length: 9 }, (_, i) => replicas[i % 3]!.rateLimits.take('attest', '10.0.0.1', 5, 60_000, now)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
      expect(decisions.filter((d) => d.firstRefusal)).toHaveLength(1);
    } finally {
      await closeAll(replicas);
    }
  });

  it('runs one holder of a document lock at a time across replicas', async () => {
    const url = await pgs.fresh();
    const replicas = await stores(url, 3);
    try {
      let inside = 0;
      let most = 0;
      await Promise.all(
        replicas.map((r) =>
          r.collateral.withDocumentLock('snp-vcek/Milan/x', async () => {
            inside++;
            most = Math.max(most, inside);
            await new Promise((res) => setTimeout(res, 50));
            inside--;
          }),
        ),
      );
      expect(most).toBe(1);
    } finally {
      await closeAll(replicas);
    }
  });
});

describe('PostgreSQL durability', () => {
  it('commits with synchronous_commit on even where the database defaults to off', async () => {
    const url = await pgs.fresh();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET synchronous_commit = off`);
    await admin.end();
    const [store] = await stores(url, 1);
    try {
      expect((await store!.database.pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!.synchronous_commit).toBe('off');
      const inTx = await store!.database.tx(async ({ client }) => (await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!.synchronous_commit);
      expect(inTx).toBe('on');
    } finally {
      await closeAll([store!]);
    }
  });
});

describe('PostgreSQL outages', () => {
  it('answers StoreUnavailableError when its connections are terminated, and recovers by itself', async () => {
    const url = await pgs.fresh();
    const [store] = await stores(url, 1);
    const killer = new pg.Client({ connectionString: (await pgs.server()).adminUrl });
    await killer.connect();
    try {
      await store!.attestations.record(record());
      const database = new URL(url).pathname.slice(1);
      // Terminated while a record's transaction is open: the holder of the connection sees it.
      const inFlight = store!.database.tx(async ({ client }) => {
        await client.query('SELECT 1');
        await killer.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
        await client.query('SELECT 1');
      });
      await expect(inFlight).rejects.toBeInstanceOf(StoreUnavailableError);
      // The idle connections were terminated too: the pool drops them and opens new ones.
      await store!.ping();
      await store!.attestations.record(record());
      expect((await verifyAuditChain(store!.audit)).checked).toBe(2);
    } finally {
      await killer.end();
      await closeAll([store!]);
    }
  });

  it('refuses to open on a closed port with StoreUnavailableError, never naming the password', async () => {
    const err = await openPostgresStore('postgres://tessera:hunter2-secret@127.0.0.1:1/x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(String((err as Error).message)).not.toContain('hunter2');
    expect(String((err as Error).message)).toMatch(/unavailable/);
  });
});
