// Group commit: the decisions reached in one turn of the event loop are written in one SQLite
// transaction, so one fsync (synchronous=FULL, the default) covers all of them instead of one
// fsync each. better-sqlite3 is synchronous, so an fsync per attestation blocks the whole
// server; under load, batching turns N fsyncs into one without weakening durability: no
// caller is answered before the transaction holding its write has committed.
//
// Each unit of work runs in its own savepoint (better-sqlite3 nests transactions that way),
// so one failing unit (a challenge consumed concurrently) rolls back alone and rejects only
// its caller; the others commit.

import type Database from 'better-sqlite3';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly sqlite: Database.Database) {}

  /** Run `work` inside the next batch's transaction; resolves with its result once committed. */
  run<T>(work: () => T): Promise<T> {
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
    const outcomes: Outcome[] = [];
    try {
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
    }
    batch.forEach((item, i) => {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.err);
    });
  }
}
