// The collateral cache in PostgreSQL, shared by every replica (an upsert per document), and
// the per-document lock that makes a cold document's vendor fetch happen once across the
// deployment (vendor-flight.ts). Implements the verifier's CollateralStore.

import { asc, eq } from 'drizzle-orm';
import { requestFromKey } from '../../../verifier/collateral/document.ts';
import type { CollateralEntry, CollateralStore } from '../../../verifier/collateral/store.ts';
import type { Database, Db } from './database.ts';
import { COLLATERAL_LOCK_CLASS } from './locks.ts';
import { collateralDocuments } from './schema/collateral.ts';

type Row = typeof collateralDocuments.$inferSelect;

function toEntry(row: Row): CollateralEntry | undefined {
  let kind: CollateralEntry['kind'];
  try {
    // A row whose key this version does not make is ignored rather than served under a wrong name.
    kind = requestFromKey(row.key).kind;
  } catch {
    return undefined;
  }
  if (kind !== row.kind) return undefined;
  const entry: CollateralEntry = { key: row.key, kind, bytes: new Uint8Array(row.bytes), source: row.source, fetchedAt: new Date(row.fetchedAt), immutable: row.immutable };
  if (row.issuerChain !== null) entry.issuerChain = row.issuerChain;
  if (row.nextUpdate !== null) entry.nextUpdate = new Date(row.nextUpdate);
  return entry;
}

async function upsert(db: Db, e: CollateralEntry): Promise<void> {
  const row = {
    key: e.key,
    kind: e.kind,
    bytes: Buffer.from(e.bytes),
    issuerChain: e.issuerChain ?? null,
    source: e.source,
    fetchedAt: e.fetchedAt.getTime(),
    nextUpdate: e.nextUpdate ? e.nextUpdate.getTime() : null,
    immutable: e.immutable,
  };
  const { key: _key, ...update } = row;
  await db.insert(collateralDocuments).values(row).onConflictDoUpdate({ target: collateralDocuments.key, set: update });
}

export class PostgresCollateral implements CollateralStore {
  constructor(private readonly pg: Database) {}

  async get(key: string): Promise<CollateralEntry | undefined> {
    const row = (await this.pg.run((db) => db.select().from(collateralDocuments).where(eq(collateralDocuments.key, key))))[0];
    return row ? toEntry(row) : undefined;
  }

  put(e: CollateralEntry): Promise<void> {
    return this.pg.run((db) => upsert(db, e));
  }

  /** In one transaction: all of them or none. */
  putMany(entries: readonly CollateralEntry[]): Promise<void> {
    return this.pg.tx(async ({ db }) => {
      for (const e of entries) await upsert(db, e);
    });
  }

  async list(): Promise<CollateralEntry[]> {
    const rows = await this.pg.run((db) => db.select().from(collateralDocuments).orderBy(asc(collateralDocuments.key)));
    return rows.map(toEntry).filter((e): e is CollateralEntry => e !== undefined);
  }

  async delete(key: string): Promise<void> {
    await this.pg.run((db) => db.delete(collateralDocuments).where(eq(collateralDocuments.key, key)));
  }

  /**
   * Run `work` holding the deployment-wide lock of document `key` (a session advisory lock on
   * a connection of its own, released when `work` settles): of the replicas missing one
   * document at once, one fetches while the others wait, then find it in the cache.
   */
  async withDocumentLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    let client;
    try {
      client = await this.pg.pool.connect();
    } catch (err) {
      throw this.pg.map(err);
    }
    let broken: unknown;
    try {
      try {
        await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [COLLATERAL_LOCK_CLASS, key]);
      } catch (err) {
        broken = err;
        throw this.pg.map(err);
      }
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [COLLATERAL_LOCK_CLASS, key]).catch((err: unknown) => (broken = err));
      }
    } finally {
      // A connection whose unlock failed is closed, which releases the lock with the session.
      client.release(broken === undefined ? undefined : true);
    }
  }
}
