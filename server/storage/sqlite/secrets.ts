// Secret versions on SQLite: immutable rows, each value an envelope (sealed by
// server/secrets/store.ts); a deleted version stays as a tombstone without its value.

import { and, asc, desc, eq, isNull, max } from 'drizzle-orm';
import type { AuditInput, AuditOf, SecretStorage, SecretVersionMeta, SecretVersionRow } from '../store.ts';
import { appendEntries } from './audit.ts';
import type { Db } from './connection.ts';
import { run } from './errors.ts';
import { secretVersions } from './schema/secrets.ts';
import { secretVersionFromRow, secretVersionToRow } from '../rows/secret-versions.ts';

const live = (name: string, version?: number) =>
  version === undefined ? and(eq(secretVersions.name, name), isNull(secretVersions.deletedAt)) : and(eq(secretVersions.name, name), eq(secretVersions.version, version), isNull(secretVersions.deletedAt));

export class SqliteSecrets implements SecretStorage {
  constructor(private readonly db: Db) {}

  put(name: string, build: (version: number) => { row: Omit<SecretVersionRow, 'name' | 'version'>; audit: AuditInput }): Promise<SecretVersionRow> {
    return run(() =>
      this.db.$client
        .transaction(() => {
          const last = this.db.select({ v: max(secretVersions.version) }).from(secretVersions).where(eq(secretVersions.name, name)).get();
          const version = (last?.v ?? 0) + 1;
          const built = build(version);
          const row: SecretVersionRow = { ...built.row, name, version };
          this.db.insert(secretVersions).values(secretVersionToRow(row)).run();
          appendEntries(this.db, [built.audit]);
          return row;
        })
        .immediate(),
    );
  }

  exists(name: string): Promise<boolean> {
    return run(() => this.db.select({ v: secretVersions.version }).from(secretVersions).where(eq(secretVersions.name, name)).limit(1).get() !== undefined);
  }

  listLive(): Promise<SecretVersionMeta[]> {
    return run(() =>
      this.db
        .select()
        .from(secretVersions)
        .where(isNull(secretVersions.deletedAt))
        .orderBy(asc(secretVersions.name), asc(secretVersions.version))
        .all()
        .map((r) => {
          const { value: _value, ...meta } = secretVersionFromRow(r);
          return meta;
        }),
    );
  }

  findLive(name: string, version?: number): Promise<SecretVersionRow | undefined> {
    return run(() => {
      const r = this.db.select().from(secretVersions).where(live(name, version)).orderBy(desc(secretVersions.version)).limit(1).get();
      return r ? secretVersionFromRow(r) : undefined;
    });
  }

  delete(name: string, version: number | undefined, now: number, actor: string, audit: AuditOf<number[]>): Promise<number[]> {
    return run(() => {
      const versions = this.db.$client
        .transaction(() => {
          const deleted = this.db.update(secretVersions).set({ value: null, deletedAt: now, deletedBy: actor }).where(live(name, version)).returning({ version: secretVersions.version }).all();
          const versions = deleted.map((d) => d.version).sort((a, b) => a - b);
          if (versions.length > 0) appendEntries(this.db, [audit(versions)], now);
          return versions;
        })
        .immediate();
      // secure_delete (connection.ts) zeroes the freed space in the pages, but the WAL still
      // holds the frames written before the delete: copy the new pages back and truncate it.
      // Another process reading an older snapshot makes this wait (busy_timeout) or leave
      // those frames until a later checkpoint overwrites them.
      if (versions.length > 0) this.db.$client.pragma('wal_checkpoint(TRUNCATE)');
      return versions;
    });
  }
}
