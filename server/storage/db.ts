// The database: SQLite in WAL mode through better-sqlite3 and drizzle-orm. The migrations
// that drizzle-kit generated into migrations/ are applied at every start (idempotent).

import { closeSync, fdatasync, fstatSync, mkdirSync, openSync } from 'node:fs';
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
 * after each commit in WAL mode (server/storage/group-commit.ts). One descriptor is kept
 * (fsync acts on the file, whichever descriptor names it), so a sync is one trip to the
 * pool; it is opened anew when SQLite has removed the file it named.
 */
export interface WalSync {
  sync(): Promise<void>;
  close(): void;
}

export function walSyncer(dataDir: string): WalSync {
  const wal = `${join(dataDir, DB_FILE)}-wal`;
  let fd: number | undefined;
  const forget = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  return {
    sync: () =>
      new Promise<void>((resolve, reject) => {
        try {
          if (fd !== undefined && fstatSync(fd).nlink === 0) forget();
          fd ??= openSync(wal, 'r');
        } catch (err) {
          // No WAL file: the last connection closed and checkpointed it into the database
          // file, which SQLite synced when it did; nothing is left to sync.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') resolve();
          else reject(err as Error);
          return;
        }
        fdatasync(fd, (err) => (err ? reject(err) : resolve()));
      }),
    close: forget,
  };
}
