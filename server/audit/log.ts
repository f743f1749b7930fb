// The audit log: append-only and hash-chained. Entry n stores
//   hash_n = SHA-256("tessera-audit-v1\n" || hash_{n-1} || "\n" || canonical JSON of entry n)
// with hash_0 = 64 zeros, so editing, inserting or removing any entry but the newest breaks
// every later link. Appends take SQLite's write lock (BEGIN IMMEDIATE), so replicas sharing
// the file cannot fork the chain. The migrations also forbid UPDATE and DELETE by trigger.

import { createHash } from 'node:crypto';
import { and, desc, eq, gte, lt, lte, sql, type SQL } from 'drizzle-orm';
import { canonicalJson } from '../../verifier/policy/canonical.ts';
import type { Db } from '../storage/db.ts';
import { auditLog } from '../storage/schema/audit.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditInput {
  action: string;
  outcome: string;
  /** Who: `token:<id>`, `cli`, `system`, or `anonymous`. Never a secret. */
  actor: string;
  subject?: string | null;
  tee?: string | null;
  clientAddress?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  seq: number;
  at: string;
  action: string;
  outcome: string;
  actor: string;
  subject: string | null;
  tee: string | null;
  clientAddress: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

type Row = typeof auditLog.$inferSelect;

/** The canonical form of a row that its hash covers (everything but the hash itself). */
function canonicalRow(row: Omit<Row, 'hash' | 'prevHash'>, details: unknown): string {
  return canonicalJson({
    seq: row.seq,
    at: row.at,
    action: row.action,
    outcome: row.outcome,
    actor: row.actor,
    subject: row.subject,
    tee: row.tee,
    clientAddress: row.clientAddress,
    details,
  });
}

export function chainHash(prevHash: string, canonical: string): string {
  return createHash('sha256').update('tessera-audit-v1\n').update(prevHash).update('\n').update(canonical, 'utf8').digest('hex');
}

// Prepared once per database: every attestation appends an entry.
const ph = (name: string) => sql.placeholder(name);
function prepareStatements(db: Db) {
  return {
    head: db.select({ seq: auditLog.seq, hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1).prepare(),
    insert: db
      .insert(auditLog)
      .values({
        seq: ph('seq'),
        at: ph('at'),
        action: ph('action'),
        outcome: ph('outcome'),
        actor: ph('actor'),
        subject: ph('subject'),
        tee: ph('tee'),
        clientAddress: ph('clientAddress'),
        details: ph('details'),
        prevHash: ph('prevHash'),
        hash: ph('hash'),
      })
      .prepare(),
  };
}
const statements = new WeakMap<Db, ReturnType<typeof prepareStatements>>();
function prepared(db: Db): ReturnType<typeof prepareStatements> {
  let p = statements.get(db);
  if (!p) statements.set(db, (p = prepareStatements(db)));
  return p;
}

/** The newest entry's seq and hash, or seq 0 with the genesis hash when the log is empty. */
export function auditHead(db: Db): { seq: number; hash: string } {
  return prepared(db).head.get() ?? { seq: 0, hash: GENESIS_HASH };
}

/**
 * Append one entry inside the caller's transaction if there is one (better-sqlite3 nests
 * via savepoints), else in its own immediate transaction. Returns its place in the chain.
 */
export function appendAudit(db: Db, input: AuditInput, at: number = Date.now()): { seq: number; hash: string } {
  const { insert } = prepared(db);
  const run = (): { seq: number; hash: string } => {
    const last = auditHead(db);
    const seq = last.seq + 1;
    const prevHash = last.hash;
    const details = input.details ?? {};
    const detailsText = canonicalJson(details);
    const base = {
      seq,
      at,
      action: input.action,
      outcome: input.outcome,
      actor: input.actor,
      subject: input.subject ?? null,
      tee: input.tee ?? null,
      clientAddress: input.clientAddress ?? null,
      details: detailsText,
    };
    const hash = chainHash(prevHash, canonicalRow(base, details));
    insert.run({ ...base, prevHash, hash });
    return { seq, hash };
  };
  const client = db.$client;
  return client.inTransaction ? run() : client.transaction(run).immediate();
}

function toEntry(row: Row): AuditEntry {
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(row.details) as Record<string, unknown>;
  } catch {
    details = { unparseable: row.details };
  }
  return {
    seq: row.seq,
    at: new Date(row.at).toISOString(),
    action: row.action,
    outcome: row.outcome,
    actor: row.actor,
    subject: row.subject,
    tee: row.tee,
    clientAddress: row.clientAddress,
    details,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

export interface AuditQuery {
  from?: number;
  to?: number;
  action?: string;
  outcome?: string;
  tee?: string;
  subject?: string;
  limit: number;
  /** Return entries older than this seq (keyset pagination). */
  beforeSeq?: number;
}

/** Newest first; `nextBeforeSeq` is set when more entries match. */
export function queryAudit(db: Db, q: AuditQuery): { entries: AuditEntry[]; nextBeforeSeq?: number } {
  const where: SQL[] = [];
  if (q.from !== undefined) where.push(gte(auditLog.at, q.from));
  if (q.to !== undefined) where.push(lte(auditLog.at, q.to));
  if (q.action !== undefined) where.push(eq(auditLog.action, q.action));
  if (q.outcome !== undefined) where.push(eq(auditLog.outcome, q.outcome));
  if (q.tee !== undefined) where.push(eq(auditLog.tee, q.tee));
  if (q.subject !== undefined) where.push(eq(auditLog.subject, q.subject));
  if (q.beforeSeq !== undefined) where.push(lt(auditLog.seq, q.beforeSeq));
  const rows = db
    .select()
    .from(auditLog)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(auditLog.seq))
    .limit(q.limit + 1)
    .all();
  const page = rows.slice(0, q.limit);
  const more = rows.length > q.limit;
  return more ? { entries: page.map(toEntry), nextBeforeSeq: page[page.length - 1]!.seq } : { entries: page.map(toEntry) };
}

export interface ChainReport {
  ok: boolean;
  /** Entries checked (all of them when ok). */
  checked: number;
  head?: { seq: number; hash: string };
  /** The first entry whose link does not hold, and why. */
  firstBroken?: { seq: number; reason: 'sequence_gap' | 'previous_hash_mismatch' | 'hash_mismatch' | 'details_not_json'; detail: string };
}

/** Recompute the whole chain from the genesis, oldest first, and name the first broken link. */
export function verifyAuditChain(db: Db): ChainReport {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  let head: { seq: number; hash: string } | undefined;
  // Streamed with a raw statement: the log can be far larger than memory allows to load at once.
  const iter = db.$client
    .prepare(
      'SELECT seq, at, action, outcome, actor, subject, tee, client_address AS clientAddress, details, prev_hash AS prevHash, hash FROM audit_log ORDER BY seq ASC',
    )
    .iterate() as IterableIterator<Row>;
  for (const row of iter) {
    const broken = (reason: NonNullable<ChainReport['firstBroken']>['reason'], detail: string): ChainReport => {
      // Stop the statement before returning (an open iterator holds the connection busy).
      iter.return?.();
      return { ok: false, checked, ...(head ? { head } : {}), firstBroken: { seq: row.seq, reason, detail } };
    };
    if (row.seq !== expectedSeq) return broken('sequence_gap', `expected entry ${expectedSeq}, found ${row.seq}: entries are missing`);
    if (row.prevHash !== prevHash) return broken('previous_hash_mismatch', `entry ${row.seq} links to ${row.prevHash}, but the entry before it hashes to ${prevHash}`);
    let details: unknown;
    try {
      details = JSON.parse(row.details);
    } catch {
      return broken('details_not_json', `entry ${row.seq} has details that are not JSON`);
    }
    const hash = chainHash(prevHash, canonicalRow(row, details));
    if (hash !== row.hash || canonicalJson(details) !== row.details) {
      return broken('hash_mismatch', `entry ${row.seq} was modified: its content hashes to ${hash}, the stored hash is ${row.hash}`);
    }
    prevHash = row.hash;
    head = { seq: row.seq, hash: row.hash };
    expectedSeq += 1;
    checked += 1;
  }
  return { ok: true, checked, ...(head ? { head } : {}) };
}
