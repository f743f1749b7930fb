// Group commit: the decisions reached in one turn of the event loop are written in one SQLite
// transaction, so one fsync (synchronous=FULL, the default) covers all of them instead of one
// fsync each. better-sqlite3 is synchronous, so an fsync per attestation blocks the whole
// server; under load, batching turns N fsyncs into one without weakening durability: no
// caller is answered before the transaction holding its write has committed.
//
// Each unit of work runs in its own savepoint (better-sqlite3 nests transactions that way),
// so one failing unit (a challenge consumed concurrently) rolls back alone and rejects only
// its caller; the others commit.
//
// With `syncWal`, the fsync also leaves the event loop. In WAL mode, synchronous=FULL is
// synchronous=NORMAL plus one sync of the WAL file after each commit ("With synchronous=FULL
// in WAL mode, an additional sync operation of the WAL file happens after each transaction
// commit", https://sqlite.org/pragma.html#pragma_synchronous). So a batch commits under
// NORMAL, and that one sync is done here, on libuv's thread pool, before any caller of the
// batch is answered: the same durability, while the event loop goes on with other requests
// (and the next batch, whose own sync then covers both). Writes outside group commit keep
// the connection's own setting.

import type Database from 'better-sqlite3';
import { NotDurableError } from '../store.ts';

export { NotDurableError };

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

export interface GroupCommitOptions {
  /** Makes a committed batch durable (fdatasync of the WAL file); awaited before anyone is answered. */
  syncWal?: () => Promise<void>;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  /**
   * Set by a failed WAL sync, and never cleared: after a failed fsync the kernel may have
   * dropped the dirty pages, so a later batch's successful sync proves nothing about the
   * earlier one. Every later batch is refused, and /readyz says so, until a restart.
   */
  failure: NotDurableError | undefined;

  constructor(
    private readonly sqlite: Database.Database,
    private readonly options: GroupCommitOptions = {},
  ) {}

  /** Run `work` inside the next batch's transaction; resolves with its result once committed. */
  run<T>(work: () => T): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the I/O callbacks of this loop turn: every request that reached its commit
        // point in this turn joins the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Write what is queued now (also used on shutdown, so nothing queued is dropped). */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    if (this.failure !== undefined) {
      for (const item of batch) item.reject(this.failure);
      return;
    }
    const outcomes: Outcome[] = [];
    const { syncWal } = this.options;
    let previous: number | undefined;
    try {
      if (syncWal) {
        previous = this.sqlite.pragma('synchronous', { simple: true }) as number;
        this.sqlite.pragma('synchronous = NORMAL');
      }
      this.sqlite
        .transaction(() => {
          for (const item of batch) {
            try {
              outcomes.push({ ok: true, value: this.sqlite.transaction(item.work)() });
            } catch (err) {
              outcomes.push({ ok: false, err });
            }
          }
        })
        .immediate();
    } catch (err) {
      // The commit itself failed (I/O error, disk full): nothing of the batch is stored.
      for (const item of batch) item.reject(err);
      return;
    } finally {
      // A connection closed under us throws here too; the batch was already settled above.
      try {
        if (previous !== undefined) this.sqlite.pragma(`synchronous = ${previous}`);
      } catch {
        // nothing more to restore
      }
    }
    const answer = () =>
      batch.forEach((item, i) => {
        const o = outcomes[i]!;
        if (o.ok) item.resolve(o.value);
        else item.reject(o.err);
      });
    if (!syncWal) return answer();
    // Committed but not yet known durable: if the sync fails, nobody is told it succeeded,
    // and no later batch is either (see `failure`).
    syncWal().then(answer, (err: unknown) => {
      this.failure ??= new NotDurableError(err);
      for (const item of batch) item.reject(this.failure);
    });
  }
}
