// Attestation records on SQLite: each decision is one savepoint of the group commit of its
// event-loop turn (group-commit.ts), so the decisions of a turn share one commit and one WAL
// sync, and one refused at commit (a challenge consumed meanwhile) rolls back alone.

import { and, asc, count, desc, eq, gte, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { StoreCorruptError, type AttestationBucket, type AttestationFilter, type AttestationRecord, type AttestationRow, type AttestationStorage, type AttestationSummary, type FleetGroupRow, type StoredAttestation } from '../store.ts';
import { decodeFleetKey, FLEET_PATHS } from '../decode.ts';
import { appendEntries } from './audit.ts';
import { consumeIn } from './challenges.ts';
import type { Db } from './connection.ts';
import { lazy, rethrowMapped, run } from './errors.ts';
import type { GroupCommit } from './group-commit.ts';
import { attestations } from './schema/attestations.ts';

// Prepared once per database: one row per attestation.
function prepareInsert(db: Db) {
  const ph = (name: string) => sql.placeholder(name);
  return db
    .insert(attestations)
    .values({
      id: ph('id'),
      createdAt: ph('createdAt'),
      tee: ph('tee'),
      status: ph('status'),
      policyName: ph('policyName'),
      policyVersion: ph('policyVersion'),
      policyHash: ph('policyHash'),
      claimsDigest: ph('claimsDigest'),
      tokenJti: ph('tokenJti'),
      clientAddress: ph('clientAddress'),
      result: ph('result'),
    })
    .prepare();
}

/** The columns of a list row: everything but the stored result. */
const summary = {
  id: attestations.id,
  createdAt: attestations.createdAt,
  tee: attestations.tee,
  status: attestations.status,
  policyName: attestations.policyName,
  policyVersion: attestations.policyVersion,
  policyHash: attestations.policyHash,
  claimsDigest: attestations.claimsDigest,
  tokenJti: attestations.tokenJti,
  clientAddress: attestations.clientAddress,
};

function where(f: AttestationFilter): SQL | undefined {
  const w: (SQL | undefined)[] = [];
  if (f.from !== undefined) w.push(gte(attestations.createdAt, f.from));
  if (f.to !== undefined) w.push(lte(attestations.createdAt, f.to));
  if (f.status !== undefined) w.push(eq(attestations.status, f.status));
  if (f.tee !== undefined) w.push(eq(attestations.tee, f.tee));
  if (f.policyName !== undefined) w.push(eq(attestations.policyName, f.policyName));
  if (f.subject !== undefined) {
    // The measurement lives in the stored result only: read with SQLite's JSON1 functions.
    w.push(or(eq(attestations.id, f.subject), eq(attestations.tokenJti, f.subject), eq(attestations.claimsDigest, f.subject), sql`json_extract(${attestations.result}, '$.claims.measurement') = ${f.subject}`));
  }
  if (f.before !== undefined) {
    w.push(or(lt(attestations.createdAt, f.before.createdAt), and(eq(attestations.createdAt, f.before.createdAt), lt(attestations.id, f.before.id))));
  }
  const present = w.filter((x): x is SQL => x !== undefined);
  return present.length ? and(...present) : undefined;
}

export class SqliteAttestations implements AttestationStorage {
  private readonly insert = lazy(() => prepareInsert(this.db));

  constructor(
    private readonly db: Db,
    private readonly commits: GroupCommit,
  ) {}

  record(rec: AttestationRecord): Promise<void> {
    return this.commits.run(() => {
      const now = Date.now();
      consumeIn(this.db, rec.challenge, now);
      this.insert().run({ ...rec.attestation });
      appendEntries(this.db, rec.audit, now);
    }).catch(rethrowMapped);
  }

  between(since: number, until: number, limit: number): Promise<StoredAttestation[]> {
    return run(() =>
      this.db
        .select({ id: attestations.id, createdAt: attestations.createdAt, tee: attestations.tee, status: attestations.status, result: attestations.result })
        .from(attestations)
        .where(and(gte(attestations.createdAt, since), lte(attestations.createdAt, until)))
        .orderBy(asc(attestations.createdAt))
        .limit(limit)
        .all(),
    );
  }

  fleet(since: number, until: number, limit: number): Promise<FleetGroupRow[]> {
    return run(() => {
      let rows: FleetSqlRow[];
      try {
        rows = this.fleetQuery().all(since, until, limit) as FleetSqlRow[];
      } catch (err) {
        // json_extract refuses a result that is not JSON: name the row.
        if (!(err instanceof Error && /malformed JSON/i.test(err.message))) throw err;
        const bad = this.db.$client.prepare('SELECT id FROM attestations WHERE created_at >= ? AND created_at <= ? AND NOT json_valid(result) LIMIT 1').get(since, until) as { id: string } | undefined;
        throw bad ? new StoreCorruptError(`attestations ${bad.id}`, 'its result column is not JSON') : err;
      }
      return rows.map((r) => ({ tee: r.tee, ...decodeFleetKey(r.k), accepted: r.accepted, denied: r.denied, firstSeen: r.first_seen, lastSeen: r.last_seen }));
    });
  }

  // One json_extract with every path parses each result once, and gives the values as one
  // JSON array (FLEET_PATHS): grouping on that text groups equal facts (one writer, one key
  // order). Several json_extract calls would parse the result once each.
  private readonly fleetQuery = lazy(() =>
    this.db.$client.prepare(`
      SELECT tee,
             json_extract(result, ${FLEET_PATHS.map((p) => `'$.${p}'`).join(', ')}) AS k,
             SUM(status <> 'contraindicated') AS accepted,
             SUM(status = 'contraindicated') AS denied,
             MIN(created_at) AS first_seen,
             MAX(created_at) AS last_seen
        FROM attestations
       WHERE created_at >= ? AND created_at <= ?
       GROUP BY 1, 2
       ORDER BY last_seen DESC
       LIMIT ?`),
  );

  list(filter: AttestationFilter, limit: number): Promise<AttestationSummary[]> {
    return run(() => this.db.select(summary).from(attestations).where(where(filter)).orderBy(desc(attestations.createdAt), desc(attestations.id)).limit(limit).all());
  }

  get(id: string): Promise<AttestationRow | undefined> {
    return run(() => this.db.select().from(attestations).where(eq(attestations.id, id)).get());
  }

  histogram(since: number, until: number, bucketMs: number): Promise<AttestationBucket[]> {
    // Integer division of two integers is integer division in SQLite: the bucket's start. A
    // bound JS number arrives as REAL, hence the cast.
    const start = sql<number>`(${attestations.createdAt} / CAST(${bucketMs} AS INTEGER)) * CAST(${bucketMs} AS INTEGER)`;
    return run(() =>
      this.db
        .select({ start, tee: attestations.tee, status: attestations.status, count: count() })
        .from(attestations)
        .where(and(gte(attestations.createdAt, since), lte(attestations.createdAt, until)))
        .groupBy(start, attestations.tee, attestations.status)
        .orderBy(start, attestations.tee, attestations.status)
        .all(),
    );
  }
}

interface FleetSqlRow {
  tee: string;
  k: string;
  accepted: number;
  denied: number;
  first_seen: number;
  last_seen: number;
}
