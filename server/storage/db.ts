// The database: SQLite in WAL mode through better-sqlite3 and drizzle-orm. The migrations
// that drizzle-kit generated into migrations/ are applied at every start (idempotent).

import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema/index.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface Storage {
  db: Db;
  sqlite: Database.Database;
  close(): void;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
export const DB_FILE = 'tessera.db';

export interface OpenOptions {
  /** SQLite synchronous pragma (see config `dbSynchronous`). */
  synchronous?: 'normal' | 'full';
  /** Skip applying migrations (offline tools that must not write). */
  readonly?: boolean;
}

/** Open (creating when needed) the database in `dataDir` and bring its schema up to date. */
export function openStorage(dataDir: string, options: OpenOptions = {}): Storage {
  if (!options.readonly) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const sqlite = new Database(join(dataDir, DB_FILE), { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  try {
    if (!options.readonly) sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    sqlite.pragma('foreign_keys = ON');
    // Replicas and the CLI may write the same file: wait for a lock instead of failing.
    sqlite.pragma('busy_timeout = 5000');
    const db = drizzle(sqlite, { schema });
    if (!options.readonly) migrate(db, { migrationsFolder: MIGRATIONS_DIR });
    return { db, sqlite, close: () => sqlite.close() };
  } catch (err) {
    sqlite.close();
    throw err;
  }
}

/**
 * fdatasync of the database's WAL file, on libuv's thread pool: what synchronous=FULL does
 * after each commit in WAL mode (server/storage/group-commit.ts). The file is opened anew each
 * time: fsync acts on the file, whichever descriptor names it, and a fresh open never names a
 * WAL file SQLite has since replaced.
 */
export function walSyncer(dataDir: string): () => Promise<void> {
  const wal = `${join(dataDir, DB_FILE)}-wal`;
  return async () => {
    let file;
    try {
      file = await open(wal, 'r');
    } catch (err) {
      // No WAL file: the last connection closed and checkpointed it into the database file,
      // which SQLite synced when it did; nothing is left to sync.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      await file.datasync();
    } finally {
      await file.close();
    }
  };
}
