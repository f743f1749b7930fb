// The collateral cache in the SQLite database, so that every process on the file shares one
// cache and a restart does not send every chip's VCEK request to AMD again. Implements the
// verifier's CollateralStore over the collateral_documents table.

import { asc, eq } from 'drizzle-orm';
import type { CollateralEntry, CollateralStore } from '../../../verifier/collateral/store.ts';
import type { Db } from './connection.ts';
import { run } from './errors.ts';
import { collateralDocuments } from './schema/collateral.ts';
import { collateralEntryFromRow } from '../rows/collateral-documents.ts';

export class SqliteCollateral implements CollateralStore {
  constructor(private readonly db: Db) {}

  get(key: string): Promise<CollateralEntry | undefined> {
    return run(() => {
      const row = this.db.select().from(collateralDocuments).where(eq(collateralDocuments.key, key)).get();
      return row ? collateralEntryFromRow(row) : undefined;
    });
  }

  put(e: CollateralEntry): Promise<void> {
    return run(() => this.upsert(e));
  }

  /** In one transaction: all of them or none. */
  putMany(entries: readonly CollateralEntry[]): Promise<void> {
    return run(() =>
      this.db.$client
        .transaction(() => {
          for (const e of entries) this.upsert(e);
        })
        .immediate(),
    );
  }

  private upsert(e: CollateralEntry): void {
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
    this.db.insert(collateralDocuments).values(row).onConflictDoUpdate({ target: collateralDocuments.key, set: update }).run();
  }

  list(): Promise<CollateralEntry[]> {
    return run(() =>
      this.db
        .select()
        .from(collateralDocuments)
        .orderBy(asc(collateralDocuments.key))
        .all()
        .map(collateralEntryFromRow)
        .filter((e): e is CollateralEntry => e !== undefined),
    );
  }

  delete(key: string): Promise<void> {
    return run(() => {
      this.db.delete(collateralDocuments).where(eq(collateralDocuments.key, key)).run();
    });
  }
}
