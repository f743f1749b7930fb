// What is decoded from the configuration tables on the hot path of every attestation (the
// signing key, the active policy, the reference values) is kept with the configuration epoch
// it was read at (ConfigEpochStorage, server/storage/store.ts) and read again only when the
// epoch moved: one small read per use, and a change made by another replica or the CLI
// still applies to the very next call.

import type { ConfigEpochStorage } from './store.ts';

/**
 * One reading of the configuration epoch, shared by the lookups of one request (an
 * attestation reads the key, the policy and the reference values: one round trip, not three).
 */
export interface EpochReading {
  readonly epoch: number | undefined;
}

export async function readEpoch(epoch: ConfigEpochStorage): Promise<EpochReading> {
  return { epoch: await epoch.read() };
}

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

  /** The value as of `reading` (taken by the caller before this call), else as of a reading taken now. */
  async get(reading?: EpochReading): Promise<T> {
    // The epoch is read before the data: a change committed in between leaves the new data
    // under the old epoch, which only costs one more load on the next call (never a stale hit).
    const { epoch } = reading ?? (await readEpoch(this.epoch));
    if (this.entry !== undefined && epoch !== undefined && this.entry.epoch === epoch) return this.entry.value;
    const value = await this.load(this.entry?.value);
    // Calls may load at once, each labelling what it loaded with the epoch read before its
    // load, so no label is newer than its data. Keep the newest label: an older reading
    // finishing last must not push out what a newer one cached.
    if (epoch === undefined) this.entry = undefined;
    else if (this.entry === undefined || epoch >= this.entry.epoch) this.entry = { epoch, value };
    return value;
  }
}
