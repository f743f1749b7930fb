// The WAL sync of group commit (group-commit.ts): what synchronous=FULL does after a commit,
// done off the event loop.

import { closeSync, fdatasync, fstatSync, openSync, realpathSync } from 'node:fs';
import type Database from 'better-sqlite3';

/**
 * fdatasync of the database's WAL file, on libuv's thread pool: what synchronous=FULL does
 * after each commit in WAL mode (group-commit.ts). The descriptor is opened
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
