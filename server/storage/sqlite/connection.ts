// The SQLite engine's connection: one file in WAL mode through better-sqlite3 and drizzle-orm.
// The migrations that drizzle-kit generated into migrations/sqlite/ are applied at every start
// (idempotent; drizzle tracks them by the hash of each file, so existing databases open as before).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema/index.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface Connection {
  db: Db;
  sqlite: Database.Database;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/sqlite', import.meta.url));
export const DB_FILE = 'tessera.db';

export interface OpenOptions {
  /** SQLite synchronous pragma (see config `dbSynchronous`). */
  synchronous?: 'normal' | 'full';
  /** Skip applying migrations (offline tools that must not write). */
  readonly?: boolean;
  /** Told every statement the connection executes (tests that count round trips). */
  verbose?: (sql: string) => void;
}

/** Open (creating when needed) the database in `dataDir` and bring its schema up to date. */
export function openConnection(dataDir: string, options: OpenOptions = {}): Connection {
  if (!options.readonly) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { verbose } = options;
  const sqlite = new Database(join(dataDir, DB_FILE), {
    readonly: options.readonly ?? false,
    fileMustExist: options.readonly ?? false,
    ...(verbose ? { verbose: (sql: unknown) => verbose(String(sql)) } : {}),
  });
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
    return { db, sqlite };
  } catch (err) {
    sqlite.close();
    throw err;
  }
}

