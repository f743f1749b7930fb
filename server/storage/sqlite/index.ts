// The SQLite engine: every interface of server/storage/store.ts over one better-sqlite3
// connection to `tessera.db` in the data directory. Attestation records (and the reads that
// must follow them: the durable audit head) go through one GroupCommit: one transaction and,
// with synchronous=full, one WAL fdatasync off the event loop per event-loop turn. Other
// writes are their own BEGIN IMMEDIATE transactions under the connection's own setting.

import type Database from 'better-sqlite3';
import { StoreUnavailableError, type Store } from '../store.ts';
import { SqliteApiTokens } from './api-tokens.ts';
import { SqliteAttestations } from './attestations.ts';
import { SqliteAudit } from './audit.ts';
import { SqliteChallenges } from './challenges.ts';
import { SqliteKbsSessions } from './kbs-sessions.ts';
import { SqliteCollateral } from './collateral.ts';
import { SqliteConfigEpoch } from './config-epoch.ts';
import { openConnection, type Db, type OpenOptions } from './connection.ts';
import { GroupCommit } from './group-commit.ts';
import { SqlitePolicies, SqliteReferenceValues } from './policies.ts';
import { SqliteRateLimits } from './rate-limits.ts';
import { SqliteSealedRecords } from './sealed-records.ts';
import { SqliteSecrets } from './secrets.ts';
import { SqliteServerSecrets, SqliteSigningKeys } from './signing-keys.ts';
import { walSyncer, type WalSync } from './wal-sync.ts';

export { DB_FILE } from './connection.ts';

/** The SQLite store, with what only this engine has (its tests and tools reach it through asSqliteStore). */
export interface SqliteStore extends Store {
  readonly engine: 'sqlite';
  readonly db: Db;
  readonly sqlite: Database.Database;
  readonly commits: GroupCommit;
}

/** Open (creating when needed, unless read-only) the database in `dataDir`, migrated. */
export function openSqliteStore(dataDir: string, options: OpenOptions = {}): SqliteStore {
  const { db, sqlite } = openConnection(dataDir, options);
  let walSync: WalSync | undefined;
  try {
    // synchronous=full: the WAL sync after each batch runs off the event loop (same durability).
    walSync = !options.readonly && options.synchronous !== 'normal' ? walSyncer(sqlite) : undefined;
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const wal = walSync;
  const commits = new GroupCommit(sqlite, wal ? { syncWal: () => wal.sync() } : {});
  let closed = false;
  return {
    engine: 'sqlite',
    db,
    sqlite,
    commits,
    challenges: new SqliteChallenges(db, commits),
    attestations: new SqliteAttestations(db, commits),
    audit: new SqliteAudit(db, commits),
    apiTokens: new SqliteApiTokens(db),
    signingKeys: new SqliteSigningKeys(db),
    serverSecrets: new SqliteServerSecrets(db),
    sealedRecords: new SqliteSealedRecords(db),
    policies: new SqlitePolicies(db),
    referenceValues: new SqliteReferenceValues(db),
    secrets: new SqliteSecrets(db),
    collateral: new SqliteCollateral(db),
    configEpoch: new SqliteConfigEpoch(sqlite),
    rateLimits: new SqliteRateLimits(),
    kbsSessions: new SqliteKbsSessions(db),
    async ping() {
      if (commits.failure !== undefined) throw commits.failure;
      try {
        sqlite.prepare('SELECT 1').get();
      } catch (err) {
        throw new StoreUnavailableError(`the SQLite database does not answer: ${(err as Error).message}`, err);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // Write what is queued (nobody queued is dropped), then close: the syncs in flight
      // keep their descriptor until they settle.
      commits.flush();
      sqlite.close();
      wal?.close();
    },
  };
}

/** The store as the SQLite engine, for what only it has; throws on another engine. */
export function asSqliteStore(store: Store): SqliteStore {
  if (store.engine !== 'sqlite') throw new Error(`this needs the SQLite engine, not ${store.engine}`);
  return store as SqliteStore;
}
