// Group commit (server/storage/sqlite/group-commit.ts): units queued in one event-loop turn share one
// transaction, each in its own savepoint; a failing unit rolls back alone; nobody is answered
// before the commit that holds its write.

import { mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openConnection } from '../../server/storage/sqlite/connection.ts';
import { GroupCommit, NotDurableError } from '../../server/storage/sqlite/group-commit.ts';
import { walSyncer } from '../../server/storage/sqlite/wal-sync.ts';

let dir: string;
let writer: Database.Database;
let reader: Database.Database;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-group-commit-'));
  writer = new Database(join(dir, 'db.sqlite'));
  writer.pragma('journal_mode = WAL');
  writer.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)');
  reader = new Database(join(dir, 'db.sqlite'), { readonly: true });
});

afterEach(() => {
  reader.close();
  writer.close();
  rmSync(dir, { recursive: true, force: true });
});

const count = (db: Database.Database) => (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;

describe('GroupCommit', () => {
  it('writes the units of one turn in one transaction, visible to others only after it commits', async () => {
    const commits = new GroupCommit(writer);
    const insert = writer.prepare('INSERT INTO t (v) VALUES (?)');
    const seenByOthers: number[] = [];
    const runs = ['a', 'b', 'c', 'd'].map((v) =>
      commits.run(() => {
        insert.run(v);
        // Another connection sees none of the batch while it is open: one transaction.
        seenByOthers.push(count(reader));
        return v.toUpperCase();
      }),
    );
    expect(await Promise.all(runs)).toEqual(['A', 'B', 'C', 'D']);
    expect(seenByOthers).toEqual([0, 0, 0, 0]);
    expect(count(reader)).toBe(4);
  });

  it('rolls back a failing unit alone and rejects only its caller', async () => {
    const commits = new GroupCommit(writer);
    const insert = writer.prepare('INSERT INTO t (v) VALUES (?)');
    const results = await Promise.allSettled([
      commits.run(() => insert.run('x')),
      commits.run(() => {
        insert.run('y');
        insert.run('x'); // UNIQUE violation: 'y' must be rolled back with it
      }),
      commits.run(() => insert.run('z')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
    expect(reader.prepare('SELECT v FROM t ORDER BY v').all()).toEqual([{ v: 'x' }, { v: 'z' }]);
  });

  it('starts a new batch for units queued after a flush, and flush() writes what is queued now', async () => {
    const commits = new GroupCommit(writer);
    const insert = writer.prepare('INSERT INTO t (v) VALUES (?)');
    await commits.run(() => insert.run('first'));
    const pending = commits.run(() => insert.run('second'));
    commits.flush();
    expect(count(reader)).toBe(2);
    await pending;
  });

  it('rejects every unit of a batch whose commit fails, and stores none of it', async () => {
    const commits = new GroupCommit(writer);
    const insert = writer.prepare('INSERT INTO t (v) VALUES (?)');
    // An open write transaction on another connection makes BEGIN IMMEDIATE fail (busy).
    const other = new Database(join(dir, 'db.sqlite'));
    other.pragma('busy_timeout = 0');
    writer.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    const results = await Promise.allSettled([commits.run(() => insert.run('p')), commits.run(() => insert.run('q'))]);
    other.exec('ROLLBACK');
    other.close();
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(count(reader)).toBe(0);
  });

  describe('with syncWal (synchronous=full, the WAL sync off the event loop)', () => {
    /** A syncWal the test completes by hand, counting its calls. */
    function manualSync() {
      const calls: { resolve: () => void; reject: (err: Error) => void }[] = [];
      const syncWal = () => new Promise<void>((resolve, reject) => calls.push({ resolve, reject }));
      return { calls, syncWal };
    }
    const settledYet = async (p: Promise<unknown>): Promise<boolean> => {
      let settled = false;
      void p.then(
        () => (settled = true),
        () => (settled = true),
      );
      await new Promise((r) => setImmediate(r));
      return settled;
    };

    it('commits the batch under NORMAL, restores FULL, and answers only after the sync', async () => {
      writer.pragma('synchronous = FULL');
      const { calls, syncWal } = manualSync();
      const commits = new GroupCommit(writer, { syncWal });
      const insert = writer.prepare('INSERT INTO t (v) VALUES (?)');
      const seen: number[] = [];
      const runs = Promise.all(
        ['a', 'b'].map((v) =>
          commits.run(() => {
            seen.push(writer.pragma('synchronous', { simple: true }) as number);
            return insert.run(v).changes;
          }),
        ),
      );
      expect(await settledYet(runs)).toBe(false);
      // Committed (another connection sees it) and one sync asked for, but nobody answered yet.
      expect(count(reader)).toBe(2);
      expect(calls).toHaveLength(1);
      expect(writer.pragma('synchronous', { simple: true })).toBe(2);
      calls[0]!.resolve();
      expect(await runs).toEqual([1, 1]);
      expect(seen).toEqual([1, 1]);
    });

    it('refuses every caller of a batch whose sync fails, and every later batch', async () => {
      const { calls, syncWal } = manualSync();
      const commits = new GroupCommit(writer, { syncWal });
      const insert = writer.prepare('INSERT INTO t (v) VALUES (?)');
      const runs = Promise.allSettled([commits.run(() => insert.run('m')), commits.run(() => insert.run('n'))]);
      await settledYet(runs);
      calls[0]!.reject(new Error('EIO'));
      const settled = await runs;
      expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      expect((settled[0] as PromiseRejectedResult).reason).toBeInstanceOf(NotDurableError);
      expect(commits.failure?.message).toContain('EIO');
      // A later sync could succeed while the failed pages are gone: nothing is accepted any more.
      await expect(commits.run(() => insert.run('o'))).rejects.toBeInstanceOf(NotDurableError);
      expect(calls).toHaveLength(1);
    });

    it('walSyncer syncs the WAL file SQLite really uses, and refuses what it cannot sync', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'tessera-wal-'));
      const realDir = mkdtempSync(join(tmpdir(), 'tessera-wal-real-'));
      try {
        // The database file is a link: SQLite puts the WAL beside the real file.
        openConnection(realDir).sqlite.close();
        symlinkSync(join(realDir, 'tessera.db'), join(dataDir, 'tessera.db'));
        const linked = openConnection(dataDir);
        const wal = walSyncer(linked.sqlite);
        await expect(wal.sync()).resolves.toBeUndefined();
        // The WAL file removed under an open connection: refused, not taken as synced.
        unlinkSync(join(realDir, 'tessera.db-wal'));
        await expect(wal.sync()).rejects.toThrow(/removed/);
        wal.close();
        await expect(wal.sync()).rejects.toThrow(/closed/);
        linked.sqlite.close();
        // Not in WAL mode: refused at start.
        const rollback = new Database(join(realDir, 'rollback.db'));
        rollback.pragma('journal_mode = DELETE');
        expect(() => walSyncer(rollback)).toThrow(/not WAL/);
        rollback.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(realDir, { recursive: true, force: true });
      }
    });
  });
});
