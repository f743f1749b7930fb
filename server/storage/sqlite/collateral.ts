// The collateral cache in the SQLite database, so that every process on the file shares one
// cache and a restart does not send every chip's VCEK request to AMD again. Implements the
// verifier's CollateralStore over the collateral_documents table.

import { asc, eq } from 'drizzle-orm';
import { requestFromKey } from '../../../verifier/collateral/document.ts';
import type { CollateralEntry, CollateralStore } from '../../../verifier/collateral/store.ts';
import type { Db } from './connection.ts';
import { run } from './errors.ts';
import { collateralDocuments } from './schema/collateral.ts';

type Row = typeof collateralDocuments.$inferSelect;

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

export class SqliteCollateral implements CollateralStore {
  constructor(private readonly db: Db) {}

  get(key: string): Promise<CollateralEntry | undefined> {
    return run(() => {
      const row = this.db.select().from(collateralDocuments).where(eq(collateralDocuments.key, key)).get();
      return row ? toEntry(row) : undefined;
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
        .map(toEntry)
        .filter((e): e is CollateralEntry => e !== undefined),
    );
  }

  delete(key: string): Promise<void> {
    return run(() => {
      this.db.delete(collateralDocuments).where(eq(collateralDocuments.key, key)).run();
    });
  }
}
