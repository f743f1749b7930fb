// A CollateralStore in one JSON file, for the CLI (`--cache FILE`) and air-gapped hosts.
// Every change rewrites the file atomically (write a temporary file beside it, fsync,
// rename), so a crash leaves the old file or the new one, never half of one. Meant for
// one process at a time: two CLI runs writing the same file concurrently may lose one's
// additions (never corrupt the file); the service uses the database store instead.

import { open, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { decodeCollateralFile, encodeCollateralFile } from './entry-codec.ts';
import type { CollateralEntry, CollateralStore } from './store.ts';
import { MemoryCollateralStore } from './memory-store.ts';

export class FileCollateralStore implements CollateralStore {
  private readonly memory = new MemoryCollateralStore();
  private loaded: Promise<void> | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Entries of the file that could not be read, with why (they are dropped on the next write). */
  readonly unreadable: { key: string; reason: string }[] = [];

  constructor(readonly path: string) {}

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      let text: string;
      try {
        text = await readFile(this.path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const d of decodeCollateralFile(text, `collateral cache ${this.path}`)) {
        if (d.ok) await this.memory.put(d.entry);
        else this.unreadable.push({ key: d.key, reason: d.reason });
      }
    })();
    return this.loaded;
  }

  private async save(): Promise<void> {
    const text = encodeCollateralFile(await this.memory.list());
    const tmp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  /** Changes are applied and written one after another, in call order. */
  private change(fn: () => Promise<void>): Promise<void> {
    const next = this.writing.then(async () => {
      await this.load();
      await fn();
      await this.save();
    });
    // A failed write must not block the ones after it; its caller sees the error.
    this.writing = next.catch(() => undefined);
    return next;
  }

  async get(key: string): Promise<CollateralEntry | undefined> {
    await this.load();
    return this.memory.get(key);
  }

  put(entry: CollateralEntry): Promise<void> {
    return this.change(() => this.memory.put(entry));
  }

  /** One rewrite of the file for all of them: per entry, a bundle import was quadratic. */
  putMany(entries: readonly CollateralEntry[]): Promise<void> {
    return this.change(() => this.memory.putMany(entries));
  }

  async list(): Promise<CollateralEntry[]> {
    await this.load();
    return this.memory.list();
  }

  delete(key: string): Promise<void> {
    return this.change(() => this.memory.delete(key));
  }
}
