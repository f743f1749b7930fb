// The configuration epoch on SQLite: one integer (table config_epoch) that triggers move in
// the same transaction as any write to signing_keys, active_policy, policy_versions or
// reference_values (migrations/sqlite/0004_config_epoch.sql), whichever connection writes.
// Reading it is one indexed single-column read on every attestation.

import type Database from 'better-sqlite3';
import type { ConfigEpochStorage } from '../store.ts';
import { lazy, run } from './errors.ts';

export class SqliteConfigEpoch implements ConfigEpochStorage {
  // Prepared on first use, so a store on a read-only handle to a database that predates the
  // table fails only if it reads the epoch.
  private readonly stmt = lazy(() => this.sqlite.prepare<[], number>('SELECT n FROM config_epoch WHERE id = 1').pluck());

  constructor(private readonly sqlite: Database.Database) {}

  read(): Promise<number | undefined> {
    return run(() => this.stmt().get());
  }
}
