// Group commit (server/storage/group-commit.ts): units queued in one event-loop turn share one
// transaction, each in its own savepoint; a failing unit rolls back alone; nobody is answered
// before the commit that holds its write.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../../server/storage/group-commit.ts';

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
});
