// A CollateralStore in memory: tests, and one-shot CLI runs without --cache.

import type { CollateralEntry, CollateralStore } from './store.ts';

function copy(e: CollateralEntry): CollateralEntry {
  return { ...e, bytes: new Uint8Array(e.bytes), fetchedAt: new Date(e.fetchedAt), ...(e.nextUpdate ? { nextUpdate: new Date(e.nextUpdate) } : {}) };
}

export class MemoryCollateralStore implements CollateralStore {
  private readonly entries = new Map<string, CollateralEntry>();

  async get(key: string): Promise<CollateralEntry | undefined> {
    const e = this.entries.get(key);
    return e ? copy(e) : undefined;
  }

  async put(entry: CollateralEntry): Promise<void> {
    this.entries.set(entry.key, copy(entry));
  }

  async putMany(entries: readonly CollateralEntry[]): Promise<void> {
    for (const e of entries) this.entries.set(e.key, copy(e));
  }

  async list(): Promise<CollateralEntry[]> {
    return [...this.entries.keys()].sort().map((k) => copy(this.entries.get(k)!));
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }
}
