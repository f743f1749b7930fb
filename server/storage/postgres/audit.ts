// The audit log on PostgreSQL: ONE hash chain with gap-free seq whatever replica appends.
// Every append takes pg_advisory_xact_lock(AUDIT_LOCK) inside its transaction, then reads
// the head (a new statement, so a new READ COMMITTED snapshot that sees every append
// committed before the lock was granted), chains with server/audit/chain.ts and inserts; the
// lock is released at commit. migrations/postgres/0001 refuses UPDATE, DELETE and TRUNCATE.

import { and, asc, count, desc, eq, gt, gte, lt, lte, type SQL } from 'drizzle-orm';
import type pg from 'pg';
import { chainEntry, GENESIS } from '../../audit/chain.ts';
import type { AuditFilter, AuditInput, AuditPosition, AuditRow, AuditStorage } from '../store.ts';
import type { Database } from './database.ts';
import { AUDIT_LOCK, LOCK_CLASS } from './locks.ts';
import { auditLog } from './schema/audit.ts';

const LOCK = { name: 'tessera_audit_lock', text: `SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${AUDIT_LOCK})` };
const HEAD = { name: 'tessera_audit_head', text: 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1' };
// One statement for any number of entries: one round trip per append.
const INSERT = {
  name: 'tessera_audit_insert',
  text: `INSERT INTO audit_log (seq, at, action, outcome, actor, subject, tee, client_address, details, prev_hash, hash)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])`,
};

async function readHead(client: pg.PoolClient | pg.Pool): Promise<AuditPosition> {
  const { rows } = await client.query<{ seq: string; hash: string }>(HEAD);
  const row = rows[0];
  return row ? { seq: Number(row.seq), hash: row.hash } : GENESIS;
}

/** Append `entries` in order inside the caller's transaction on `client`; returns the new head. */
export async function appendIn(client: pg.PoolClient, entries: readonly AuditInput[], now: number = Date.now()): Promise<AuditPosition> {
  await client.query(LOCK);
  let head = await readHead(client);
  if (entries.length === 0) return head;
  const rows: AuditRow[] = [];
  for (const input of entries) {
    const row = chainEntry(head, input, now);
    rows.push(row);
    head = { seq: row.seq, hash: row.hash };
  }
  const col = <K extends keyof AuditRow>(k: K) => rows.map((r) => r[k]);
  await client.query({
    ...INSERT,
    values: [col('seq'), col('at'), col('action'), col('outcome'), col('actor'), col('subject'), col('tee'), col('clientAddress'), col('details'), col('prevHash'), col('hash')],
  });
  return head;
}

function where(f: AuditFilter): SQL | undefined {
  const w: SQL[] = [];
  if (f.from !== undefined) w.push(gte(auditLog.at, f.from));
  if (f.to !== undefined) w.push(lte(auditLog.at, f.to));
  if (f.action !== undefined) w.push(eq(auditLog.action, f.action));
  if (f.outcome !== undefined) w.push(eq(auditLog.outcome, f.outcome));
  if (f.tee !== undefined) w.push(eq(auditLog.tee, f.tee));
  if (f.subject !== undefined) w.push(eq(auditLog.subject, f.subject));
  if (f.beforeSeq !== undefined) w.push(lt(auditLog.seq, f.beforeSeq));
  return w.length ? and(...w) : undefined;
}

export class PostgresAudit implements AuditStorage {
  constructor(private readonly pg: Database) {}

  append(entries: readonly AuditInput[]): Promise<AuditPosition> {
    return this.pg.tx(({ client }) => appendIn(client, entries));
  }

  head(): Promise<AuditPosition> {
    // A commit in PostgreSQL is durable when it returns (synchronous_commit): what is visible is durable.
    return this.pg.run(() => readHead(this.pg.pool));
  }

  query(filter: AuditFilter, limit: number): Promise<AuditRow[]> {
    return this.pg.run((db) => db.select().from(auditLog).where(where(filter)).orderBy(desc(auditLog.seq)).limit(limit));
  }

  range(afterSeq: number, limit: number): Promise<AuditRow[]> {
    return this.pg.run((db) => db.select().from(auditLog).where(gt(auditLog.seq, afterSeq)).orderBy(asc(auditLog.seq)).limit(limit));
  }

  async get(seq: number): Promise<AuditRow | undefined> {
    const rows = await this.pg.run((db) => db.select().from(auditLog).where(eq(auditLog.seq, seq)));
    return rows[0];
  }

  async count(filter: AuditFilter = {}): Promise<number> {
    const rows = await this.pg.run((db) => db.select({ n: count() }).from(auditLog).where(where(filter)));
    return rows[0]?.n ?? 0;
  }
}
