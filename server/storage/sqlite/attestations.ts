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

  async fleet(since: number, until: number, limit: number): Promise<FleetGroupRow[]> {
    // better-sqlite3 runs on the event loop: the window is grouped a slice of rows at a time
    // (in (created_at, rowid) order, which the created_at index holds), the loop free between
    // slices, and the slices' groups merged here.
    const merged = new Map<string, FleetSqlRow>();
    let after = { at: since, rid: -1 };
    for (;;) {
      const edge = await run(() => this.fleetStatements().edge.get({ at: after.at, rid: after.rid, until, skip: FLEET_SLICE_ROWS - 1 }) as { at: number; rid: number } | undefined);
      const upto = edge ?? { at: until, rid: Number.MAX_SAFE_INTEGER };
      const bounds = { at: after.at, rid: after.rid, at2: upto.at, rid2: upto.rid };
      const rows = await run(() => {
        try {
          return this.fleetStatements().slice.all(bounds) as FleetSqlRow[];
        } catch (err) {
          // json_extract refuses a result that is not JSON: name the row.
          if (!(err instanceof Error && /malformed JSON/i.test(err.message))) throw err;
          const bad = this.fleetStatements().corrupt.get(bounds) as { id: string } | undefined;
          throw bad ? new StoreCorruptError(`attestations ${bad.id}`, 'its result column is not JSON') : err;
        }
      });
      for (const r of rows) {
        const key = `${r.tee}\u0000${r.k}`;
        const m = merged.get(key);
        if (!m) merged.set(key, r);
        else {
          m.accepted += r.accepted;
          m.denied += r.denied;
          m.first_seen = Math.min(m.first_seen, r.first_seen);
          m.last_seen = Math.max(m.last_seen, r.last_seen);
        }
      }
      if (!edge) break;
      after = edge;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return [...merged.values()]
      .sort((a, b) => b.last_seen - a.last_seen)
      .slice(0, limit)
      .map((r) => ({ tee: r.tee, ...decodeFleetKey(r.k), accepted: r.accepted, denied: r.denied, firstSeen: r.first_seen, lastSeen: r.last_seen }));
  }

  // One json_extract with every path parses each result once, and gives the values as one
  // JSON array (FLEET_PATHS): grouping on that text groups equal facts (one writer, one key
  // order). Several json_extract calls would parse the result once each. A slice is the rows
  // after (at, rid) up to and including (at2, rid2).
  private readonly fleetStatements = lazy(() => {
    const slice = `(created_at, rowid) > (@at, @rid) AND (created_at, rowid) <= (@at2, @rid2)`;
    return {
      edge: this.db.$client.prepare(`
        SELECT created_at AS at, rowid AS rid FROM attestations
         WHERE (created_at, rowid) > (@at, @rid) AND created_at <= @until
         ORDER BY created_at, rowid
         LIMIT 1 OFFSET @skip`),
      slice: this.db.$client.prepare(`
        SELECT tee,
               json_extract(result, ${FLEET_PATHS.map((p) => `'$.${p}'`).join(', ')}) AS k,
               SUM(status <> 'contraindicated') AS accepted,
               SUM(status = 'contraindicated') AS denied,
               MIN(created_at) AS first_seen,
               MAX(created_at) AS last_seen
          FROM attestations
         WHERE ${slice}
         GROUP BY 1, 2`),
      corrupt: this.db.$client.prepare(`SELECT id FROM attestations WHERE ${slice} AND NOT json_valid(result) ORDER BY created_at, rowid LIMIT 1`),
    };
  });

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

/** Rows per slice of a fleet query: tens of milliseconds of the event loop each. */
const FLEET_SLICE_ROWS = 1000;

interface FleetSqlRow {
  tee: string;
  k: string;
  accepted: number;
  denied: number;
  first_seen: number;
  last_seen: number;
}
