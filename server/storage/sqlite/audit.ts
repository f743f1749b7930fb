// The audit log on SQLite. Appends take SQLite's write lock (BEGIN IMMEDIATE, or the group
// commit's transaction they run in), so the head read and the insert cannot interleave with
// another writer's, whichever process writes the file: one chain, gap-free. The hashes are
// server/audit/chain.ts's; migrations/sqlite/0001 forbids UPDATE and DELETE by trigger.

import { and, count, desc, eq, gt, gte, lt, lte, asc, sql, type SQL } from 'drizzle-orm';
import { chainEntry, GENESIS } from '../../audit/chain.ts';
import type { AuditFilter, AuditInput, AuditPosition, AuditRow, AuditStorage } from '../store.ts';
import type { Db } from './connection.ts';
import { rethrowMapped, run } from './errors.ts';
import type { GroupCommit } from './group-commit.ts';
import { auditLog } from './schema/audit.ts';

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

export function readHead(db: Db): AuditPosition {
  return prepared(db).head.get() ?? GENESIS;
}

/**
 * Append `entries` in order inside the caller's transaction (every engine write that audits
 * calls it there), or in an immediate transaction of its own when there is none.
 */
export function appendEntries(db: Db, entries: readonly AuditInput[], now: number = Date.now()): AuditPosition {
  const { insert } = prepared(db);
  const append = (): AuditPosition => {
    let head = readHead(db);
    for (const input of entries) {
      const row = chainEntry(head, input, now);
      insert.run({ ...row });
      head = { seq: row.seq, hash: row.hash };
    }
    return head;
  };
  const client = db.$client;
  return client.inTransaction ? append() : client.transaction(append).immediate();
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

export class SqliteAudit implements AuditStorage {
  constructor(
    private readonly db: Db,
    private readonly commits: GroupCommit,
  ) {}

  append(entries: readonly AuditInput[]): Promise<AuditPosition> {
    return run(() => appendEntries(this.db, entries));
  }

  head(): Promise<AuditPosition> {
    // Read in the group commit, after the batches queued before it: the head then names only
    // entries that are durable (a batch is answered only after its WAL sync).
    return this.commits.run(() => readHead(this.db)).catch(rethrowMapped);
  }

  query(filter: AuditFilter, limit: number): Promise<AuditRow[]> {
    return run(() => this.db.select().from(auditLog).where(where(filter)).orderBy(desc(auditLog.seq)).limit(limit).all());
  }

  range(afterSeq: number, limit: number): Promise<AuditRow[]> {
    return run(() => this.db.select().from(auditLog).where(gt(auditLog.seq, afterSeq)).orderBy(asc(auditLog.seq)).limit(limit).all());
  }

  get(seq: number): Promise<AuditRow | undefined> {
    return run(() => this.db.select().from(auditLog).where(eq(auditLog.seq, seq)).get());
  }

  count(filter: AuditFilter = {}): Promise<number> {
    return run(() => this.db.select({ n: count() }).from(auditLog).where(where(filter)).get()?.n ?? 0);
  }
}
