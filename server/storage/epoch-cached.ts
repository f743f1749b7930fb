// What is decoded from the configuration tables on the hot path of every attestation (the
// signing key, the active policy, the reference values) is kept with the configuration epoch
// it was read at (ConfigEpochStorage, server/storage/store.ts) and read again only when the
// epoch moved: one small read per use, and a change made by another replica or the CLI
// still applies to the very next call.

import type { ConfigEpochStorage } from './store.ts';

/**
 * A value decoded from the configuration tables, kept with the epoch it was read at and
 * loaded again only when the epoch has moved. `load` gets the previous value (possibly of an
 * older epoch) to reuse what is still the same, e.g. a decrypted key whose kid did not change.
 */
export class EpochCached<T> {
  private entry: { epoch: number; value: T } | undefined;

  constructor(
    private readonly epoch: ConfigEpochStorage,
    private readonly load: (previous: T | undefined) => Promise<T>,
  ) {}

  async get(): Promise<T> {
    // The epoch is read before the data: a change committed in between leaves the new data
    // under the old epoch, which only costs one more load on the next call (never a stale hit).
    const epoch = await this.epoch.read();
    if (this.entry !== undefined && epoch !== undefined && this.entry.epoch === epoch) return this.entry.value;
    const value = await this.load(this.entry?.value);
    // Two calls may load at once; the one finishing last wins, and each keeps the epoch it
    // read before its own load, so neither can pin older data under a newer epoch.
    this.entry = epoch === undefined ? undefined : { epoch, value };
    return value;
  }
}
