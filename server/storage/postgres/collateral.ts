// The collateral cache in PostgreSQL, shared by every replica (an upsert per document), and
// the per-document lock that makes a cold document's vendor fetch happen once across the
// deployment (vendor-flight.ts). Implements the verifier's CollateralStore.

import { asc, eq } from 'drizzle-orm';
import type pg from 'pg';
import type { CollateralEntry, CollateralStore } from '../../../verifier/collateral/store.ts';
import type { Database, Db } from './database.ts';
import { COLLATERAL_LOCK_CLASS } from './locks.ts';
import { collateralDocuments } from './schema/collateral.ts';
import { collateralEntryFromRow } from '../rows/collateral-documents.ts';

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
  /** Document locks kept until the fetched document is stored (releaseWhenStored). */
  private readonly held = new Map<string, () => void>();

  constructor(private readonly pg: Database) {}

  async get(key: string): Promise<CollateralEntry | undefined> {
    const row = (await this.pg.run((db) => db.select().from(collateralDocuments).where(eq(collateralDocuments.key, key))))[0];
    return row ? collateralEntryFromRow(row) : undefined;
  }

  async put(e: CollateralEntry): Promise<void> {
    try {
      await this.pg.run((db) => upsert(db, e));
    } finally {
      this.releaseHeld(e.key);
    }
  }

  /** In one transaction: all of them or none. */
  putMany(entries: readonly CollateralEntry[]): Promise<void> {
    return this.pg.tx(async ({ db }) => {
      for (const e of entries) await upsert(db, e);
    });
  }

  async list(): Promise<CollateralEntry[]> {
    const rows = await this.pg.run((db) => db.select().from(collateralDocuments).orderBy(asc(collateralDocuments.key)));
    return rows.map(collateralEntryFromRow).filter((e): e is CollateralEntry => e !== undefined);
  }

  async delete(key: string): Promise<void> {
    await this.pg.run((db) => db.delete(collateralDocuments).where(eq(collateralDocuments.key, key)));
  }

  /**
   * Take the deployment-wide lock of document `key` (a session advisory lock on a connection
   * of its own, waiting while another process holds it); resolves with its release. Of the
   * replicas missing one document at once, one fetches while the others wait, then find it
   * in the cache (vendor-flight.ts).
   */
  async lockDocument(key: string): Promise<() => Promise<void>> {
    let client: pg.PoolClient;
    try {
      client = await this.pg.pool.connect();
    } catch (err) {
      throw this.pg.map(err);
    }
    try {
      // The holder may be waiting for a slow vendor (timeouts and retries): wait longer than a statement usually may.
      await client.query({ name: 'tessera_doc_lock', text: 'SELECT pg_advisory_lock($1, hashtext($2))', values: [COLLATERAL_LOCK_CLASS, key], query_timeout: 120_000 } as pg.QueryConfig);
    } catch (err) {
      client.release(true);
      throw this.pg.map(err);
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      try {
        await client.query({ name: 'tessera_doc_unlock', text: 'SELECT pg_advisory_unlock($1, hashtext($2))', values: [COLLATERAL_LOCK_CLASS, key] });
        client.release();
      } catch {
        // Closing the connection ends its session, which releases the lock.
        client.release(true);
      }
    };
  }

  /**
   * Keep the lock `release` frees until this process stores document `key` (the caching
   * source writes it after checking it, once the vendor's answer is back), or `maxMs` have
   * passed (it refused the answer): the replicas waiting on the lock then find it stored.
   */
  releaseWhenStored(key: string, release: () => Promise<void>, maxMs: number): void {
    const timer = setTimeout(() => this.releaseHeld(key), maxMs);
    timer.unref();
    this.held.set(key, () => {
      clearTimeout(timer);
      void release();
    });
  }

  private releaseHeld(key: string): void {
    const release = this.held.get(key);
    this.held.delete(key);
    release?.();
  }

  /** Run `work` holding the lock of document `key`. */
  async withDocumentLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const release = await this.lockDocument(key);
    try {
      return await work();
    } finally {
      await release();
    }
  }
}
