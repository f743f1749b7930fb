// The database: SQLite in WAL mode through better-sqlite3 and drizzle-orm. The migrations
// that drizzle-kit generated into migrations/ are applied at every start (idempotent).

import { closeSync, fdatasync, fstatSync, mkdirSync, openSync, realpathSync } from 'node:fs';
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
    // Freed content is overwritten with zeros, so a deleted secret's ciphertext does not
    // linger in free space of the file (https://sqlite.org/pragma.html#pragma_secure_delete).
    sqlite.pragma('secure_delete = ON');
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
 * after each commit in WAL mode (server/storage/group-commit.ts). The descriptor is opened
 * once, at start, on the file SQLite really uses (the database path resolved through links:
 * SQLite puts the WAL beside the real file); fsync acts on the file, whichever descriptor
 * names it, so a sync is one trip to the pool.
 *
 * While the service's connection is open, SQLite keeps that file (a checkpoint truncates or
 * rewinds it, never removes it), so a missing or unlinked file means the syncs would reach
 * nothing: that refuses the start, or the batch, rather than answer without durability.
 */
export interface WalSync {
  sync(): Promise<void>;
  /** Close the descriptor once the syncs in flight have settled. */
  close(): void;
}

export function walSyncer(sqlite: Database.Database): WalSync {
  const mode = sqlite.pragma('journal_mode', { simple: true });
  if (mode !== 'wal') throw new Error(`the database is in journal mode ${String(mode)}, not WAL: synchronous=full cannot be kept off the event loop`);
  // The connection's own file name, so the WAL cannot be looked for beside another file.
  const wal = `${realpathSync(sqlite.name)}-wal`;
  const fd = openSync(wal, 'r');
  let pending = 0;
  let closing = false;
  const settle = () => {
    pending--;
    if (closing && pending === 0) closeSync(fd);
  };
  return {
    sync: () =>
      new Promise<void>((resolve, reject) => {
        if (closing) return reject(new Error('the WAL syncer is closed'));
        if (fstatSync(fd).nlink === 0) return reject(new Error(`${wal} was removed while the database was open: the commit cannot be made durable`));
        pending++;
        fdatasync(fd, (err) => {
          settle();
          if (err) reject(err);
          else resolve();
        });
      }),
    close: () => {
      if (closing) return;
      closing = true;
      if (pending === 0) closeSync(fd);
    },
  };
}
