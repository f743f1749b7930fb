// The collateral cache in the service's database, so that every replica shares one cache
// and a restart does not send every chip's VCEK request to AMD again. Implements the
// verifier's CollateralStore over the collateral_documents table.

import { asc, eq } from 'drizzle-orm';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import { requestFromKey } from '../../verifier/collateral/document.ts';
import type { CollateralEntry, CollateralStore } from '../../verifier/collateral/store.ts';
import { collateralDocuments } from './schema/collateral.ts';

type Row = typeof collateralDocuments.$inferSelect;

// Any drizzle SQLite database (better-sqlite3 in the service, in-memory ones in tests).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type SqliteDb = BaseSQLiteDatabase<'sync' | 'async', any, any>;

function toEntry(row: Row): CollateralEntry | undefined {
  let kind: CollateralEntry['kind'];
  try {
    // A row whose key is not one this version makes (written by another version, or
    // edited by hand) is ignored rather than served under a wrong name.
    kind = requestFromKey(row.key).kind;
  } catch {
    return undefined;
  }
  if (kind !== row.kind) return undefined;
  const entry: CollateralEntry = {
    key: row.key,
    kind,
    bytes: new Uint8Array(row.bytes),
    source: row.source,
    fetchedAt: new Date(row.fetchedAt),
    immutable: row.immutable,
  };
  if (row.issuerChain !== null) entry.issuerChain = row.issuerChain;
  if (row.nextUpdate !== null) entry.nextUpdate = new Date(row.nextUpdate);
  return entry;
}

export class DbCollateralStore implements CollateralStore {
  constructor(private readonly db: SqliteDb) {}

  async get(key: string): Promise<CollateralEntry | undefined> {
    const rows = await this.db.select().from(collateralDocuments).where(eq(collateralDocuments.key, key)).limit(1);
    return rows[0] ? toEntry(rows[0]) : undefined;
  }

  async put(e: CollateralEntry): Promise<void> {
    this.upsert(this.db, e);
  }

  /** In one transaction: all of them or none. */
  async putMany(entries: readonly CollateralEntry[]): Promise<void> {
    this.db.transaction((tx) => {
      for (const e of entries) this.upsert(tx, e);
    });
  }

  private upsert(db: Pick<SqliteDb, 'insert'>, e: CollateralEntry): void {
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
    db.insert(collateralDocuments).values(row).onConflictDoUpdate({ target: collateralDocuments.key, set: update }).run();
  }

  async list(): Promise<CollateralEntry[]> {
    const rows = await this.db.select().from(collateralDocuments).orderBy(asc(collateralDocuments.key));
    return rows.map(toEntry).filter((e): e is CollateralEntry => e !== undefined);
  }

  async delete(key: string): Promise<void> {
    await this.db.delete(collateralDocuments).where(eq(collateralDocuments.key, key));
  }
}
