// The configuration epoch: one integer (table config_epoch) that SQLite triggers move in the
// same transaction as any write to signing_keys, active_policy, policy_versions or
// reference_values (migrations/0004_config_epoch.sql), whichever connection writes. Reading
// it is one indexed single-column read, so what is decoded from those tables on the hot path
// of every attestation (the signing key, the active policy, the reference values) can be
// kept until the epoch moves, and a change made by another replica or the CLI still applies
// to the very next call.

import type Database from 'better-sqlite3';

export type EpochReader = () => number | undefined;

// One prepared statement per database handle: it runs on every attestation.
const readers = new WeakMap<Database.Database, EpochReader>();

/**
 * The reader of `sqlite`'s current epoch; undefined when the row is missing (then nothing
 * may be cached). Prepared on first use, so a store built on a read-only handle to a database
 * that predates the table fails only if it reads the epoch.
 */
export function configEpochReader(sqlite: Database.Database): EpochReader {
  let reader = readers.get(sqlite);
  if (!reader) {
    const stmt = sqlite.prepare<[], number>('SELECT n FROM config_epoch WHERE id = 1').pluck();
    reader = () => stmt.get();
    readers.set(sqlite, reader);
  }
  return reader;
}

/**
 * A value decoded from the configuration tables, kept with the epoch it was read at and
 * loaded again only when the epoch has moved. `load` gets the previous value (possibly of an
 * older epoch) to reuse what is still the same, e.g. a decrypted key whose kid did not change.
 */
export class EpochCached<T> {
  private entry: { epoch: number; value: T } | undefined;
  private reader: EpochReader | undefined;

  constructor(
    private readonly sqlite: Database.Database,
    private readonly load: (previous: T | undefined) => T,
  ) {}

  get(): T {
    // Inside a transaction the epoch read may be rolled back, and a later commit by another
    // connection could then reach the same number with other contents: keep nothing read here.
    if (this.sqlite.inTransaction) return this.load(this.entry?.value);
    this.reader ??= configEpochReader(this.sqlite);
    // The epoch is read before the data: a change committed in between leaves the new data
    // under the old epoch, which only costs one more load on the next call (never a stale hit).
    const epoch = this.reader();
    if (this.entry !== undefined && epoch !== undefined && this.entry.epoch === epoch) return this.entry.value;
    const value = this.load(this.entry?.value);
    this.entry = epoch === undefined ? undefined : { epoch, value };
    return value;
  }
}
