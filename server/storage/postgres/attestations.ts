// Attestation records on PostgreSQL, in group commit: the records that reach their commit
// point in one turn of the event loop are written in one transaction, set-wise: one INSERT
// consumes every challenge of the batch (the nonces it did not insert were consumed already,
// by any replica: those records are refused alone, challenge_replayed), one inserts the
// attestations of the winners, one appends all their audit entries under the audit lock, one
// COMMIT. A handful of round trips per batch instead of several per record is what keeps one
// replica near SQLite's throughput; no caller is answered before that COMMIT returned.

import { and, asc, count, desc, eq, gte, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type pg from 'pg';
import { challengeExpiredAtCommit, challengeReplayed } from '../../challenge.ts';
import { StoreCorruptError, type AttestationBucket, type AttestationFilter, type AttestationRecord, type AttestationRow, type AttestationStorage, type AttestationSummary, type FleetGroupRow, type StoredAttestation } from '../store.ts';
import { decodeFleetKey, FLEET_PATHS } from '../decode.ts';
import { appendIn } from './audit.ts';
import { consumeManyIn } from './challenges.ts';
import type { Database } from './database.ts';
import { attestations } from './schema/attestations.ts';

const INSERT = {
  name: 'tessera_attestations_insert',
  text: `INSERT INTO attestations (id, created_at, tee, status, policy_name, policy_version, policy_hash, claims_digest, token_jti, client_address, result)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::integer[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])`,
};

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
    // The measurement lives in the stored result only (kept as text: byte-for-byte what was decided).
    w.push(or(eq(attestations.id, f.subject), eq(attestations.tokenJti, f.subject), eq(attestations.claimsDigest, f.subject), sql`(${attestations.result}::jsonb #>> '{claims,measurement}') = ${f.subject}`));
  }
  if (f.before !== undefined) {
    w.push(or(lt(attestations.createdAt, f.before.createdAt), and(eq(attestations.createdAt, f.before.createdAt), lt(attestations.id, f.before.id))));
  }
  const present = w.filter((x): x is SQL => x !== undefined);
  return present.length ? and(...present) : undefined;
}

interface Pending {
  rec: AttestationRecord;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class PostgresAttestations implements AttestationStorage {
  private queue: Pending[] = [];
  private scheduled = false;
  /** The batch being written: one at a time per process, the next one filling meanwhile. */
  private writing: Promise<void> | undefined;

  constructor(private readonly pg: Database) {}

  record(rec: AttestationRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rec, resolve, reject });
      if (!this.scheduled && this.writing === undefined) {
        this.scheduled = true;
        // After the I/O callbacks of this turn: every request that reached its commit point joins.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Write what is queued now; resolves when nothing is queued or being written (shutdown). */
  async drain(): Promise<void> {
    this.flush();
    while (this.writing !== undefined) await this.writing;
  }

  /**
   * Start writing what is queued, unless a batch is being written: then what arrives waits
   * for it and goes in the next batch. Batches of one process would otherwise only queue on
   * the audit lock, each holding a pooled connection; one at a time, each batch takes all
   * that arrived during the previous commit (group commit proper), and the pool stays free
   * for the reads of the requests being decided.
   */
  private flush(): void {
    this.scheduled = false;
    if (this.writing !== undefined) return;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.writing = this.write(batch).finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.flush();
    });
  }

  private async write(batch: Pending[]): Promise<void> {
    // Judged at the commit's clock, as on SQLite: a request that opened its challenge in
    // time but reaches the commit after expiry is refused (the prune may have forgotten it).
    const now = Date.now();
    const candidates: Pending[] = [];
    const seen = new Set<string>();
    for (const item of batch) {
      const { nonce, expiresAt } = item.rec.challenge;
      if (now >= expiresAt) item.reject(challengeExpiredAtCommit(expiresAt));
      // Twice in one batch: whether or not the first wins, this one is a replay.
      else if (seen.has(nonce)) item.reject(challengeReplayed());
      else {
        seen.add(nonce);
        candidates.push(item);
      }
    }
    if (candidates.length === 0) return;
    let winners: Pending[] = [];
    try {
      await this.pg.tx(async ({ client }) => {
        const consumed = await consumeManyIn(
          client,
          candidates.map((c) => c.rec.challenge),
          now,
        );
        winners = candidates.filter((c) => consumed.has(c.rec.challenge.nonce));
        if (winners.length === 0) return;
        const rows = winners.map((w) => w.rec.attestation);
        const col = <K extends keyof AttestationRow>(k: K) => rows.map((r) => r[k]);
        await client.query({
          ...INSERT,
          values: [col('id'), col('createdAt'), col('tee'), col('status'), col('policyName'), col('policyVersion'), col('policyHash'), col('claimsDigest'), col('tokenJti'), col('clientAddress'), col('result')],
        });
        await appendIn(
          client,
          winners.flatMap((w) => w.rec.audit),
          now,
        );
      });
    } catch (err) {
      // Nothing of the batch is stored.
      for (const c of candidates) c.reject(err);
      return;
    }
    const won = new Set(winners);
    for (const c of candidates) {
      if (won.has(c)) c.resolve();
      else c.reject(challengeReplayed());
    }
  }

  async between(since: number, until: number, limit: number): Promise<StoredAttestation[]> {
    return this.pg.run((db) =>
      db
        .select({ id: attestations.id, createdAt: attestations.createdAt, tee: attestations.tee, status: attestations.status, result: attestations.result })
        .from(attestations)
        .where(and(gte(attestations.createdAt, since), lte(attestations.createdAt, until)))
        .orderBy(asc(attestations.createdAt))
        .limit(limit),
    );
  }

  async fleet(since: number, until: number, limit: number): Promise<FleetGroupRow[]> {
    let rows: FleetSqlRow[];
    try {
      rows = await this.pg.run(async () => (await this.pg.pool.query<FleetSqlRow>({ ...FLEET, values: [since, until, limit] } as pg.QueryConfig)).rows);
    } catch (err) {
      // The cast to jsonb refuses a result that is not JSON (22P02), or holds \u0000 (22P05): name the row.
      const code = (err as { code?: unknown } | null)?.code;
      if (code !== '22P02' && code !== '22P05') throw err;
      throw (await this.corruptRow(since, until)) ?? err;
    }
    return rows.map((r) => ({ tee: r.tee, ...decodeFleetKey(r.k), accepted: Number(r.accepted), denied: Number(r.denied), firstSeen: Number(r.first_seen), lastSeen: Number(r.last_seen) }));
  }

  /** PostgreSQL 15 has no IS JSON: the window's rows are read and parsed here, on this error path only. */
  private async corruptRow(since: number, until: number): Promise<StoreCorruptError | undefined> {
    const rows = await this.pg.run((db) =>
      db
        .select({ id: attestations.id, result: attestations.result })
        .from(attestations)
        .where(and(gte(attestations.createdAt, since), lte(attestations.createdAt, until))),
    );
    for (const r of rows) {
      try {
        JSON.parse(r.result);
      } catch {
        return new StoreCorruptError(`attestations ${r.id}`, 'its result column is not JSON');
      }
      if (r.result.includes('\\u0000')) return new StoreCorruptError(`attestations ${r.id}`, 'its result column holds a NUL character');
    }
    return undefined;
  }

  async list(filter: AttestationFilter, limit: number): Promise<AttestationSummary[]> {
    return this.pg.run((db) => db.select(summary).from(attestations).where(where(filter)).orderBy(desc(attestations.createdAt), desc(attestations.id)).limit(limit));
  }

  async get(id: string): Promise<AttestationRow | undefined> {
    return (await this.pg.run((db) => db.select().from(attestations).where(eq(attestations.id, id)).limit(1)))[0];
  }

  async histogram(since: number, until: number, bucketMs: number): Promise<AttestationBucket[]> {
    const start = sql<string>`(${attestations.createdAt} / ${bucketMs}::bigint) * ${bucketMs}::bigint`;
    const rows = await this.pg.run((db) =>
      db
        .select({ start, tee: attestations.tee, status: attestations.status, count: count() })
        .from(attestations)
        .where(and(gte(attestations.createdAt, since), lte(attestations.createdAt, until)))
        .groupBy(sql`1`, attestations.tee, attestations.status)
        .orderBy(sql`1`, attestations.tee, attestations.status),
    );
    // bigint arithmetic comes back as text from pg.
    return rows.map((r) => ({ ...r, start: Number(r.start) }));
  }
}

// Each result is cast to jsonb once (the LATERAL subquery with OFFSET 0 is not pulled up into
// the outer query, which would cast it once per path), and the values are grouped as one
// jsonb array (FLEET_PATHS; jsonb's text has one key order). An analytic query over a whole
// window: it may take longer than the pool's statement timeout. Mirrors sqlite/attestations.ts.
const FLEET_QUERY_TIMEOUT_MS = 120_000;
const FLEET = {
  name: 'tessera_attestations_fleet',
  text: `SELECT tee, k,
                COUNT(*) FILTER (WHERE status <> 'contraindicated') AS accepted,
                COUNT(*) FILTER (WHERE status = 'contraindicated') AS denied,
                MIN(created_at) AS first_seen,
                MAX(created_at) AS last_seen
           FROM (SELECT a.tee, a.status, a.created_at,
                        jsonb_build_array(${FLEET_PATHS.map((p) => `j.r #> '{${p.split('.').join(',')}}'`).join(', ')})::text AS k
                   FROM attestations a, LATERAL (SELECT a.result::jsonb AS r OFFSET 0) j
                  WHERE a.created_at >= $1 AND a.created_at <= $2) w
          GROUP BY 1, 2
          ORDER BY last_seen DESC
          LIMIT $3`,
  query_timeout: FLEET_QUERY_TIMEOUT_MS,
};

interface FleetSqlRow {
  tee: string;
  k: string;
  accepted: string;
  denied: string;
  first_seen: string;
  last_seen: string;
}
