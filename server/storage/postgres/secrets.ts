// Secret versions on PostgreSQL: immutable rows, each value an envelope (sealed by
// server/secrets/store.ts); a deleted version stays as a tombstone without its value. The
// erased ciphertext may linger in dead tuples and the WAL until VACUUM and checkpoints
// recycle them (README "Running replicas on PostgreSQL"): it is sealed under the KEK.

import { and, asc, desc, eq, isNull, max } from 'drizzle-orm';
import type { AuditInput, AuditOf, SecretStorage, SecretVersionMeta, SecretVersionRow } from '../store.ts';
import { appendIn } from './audit.ts';
import type { Database } from './database.ts';
import { secretVersions } from './schema/secrets.ts';
import { secretVersionFromRow, secretVersionToRow } from '../rows/secret-versions.ts';

const live = (name: string, version?: number) =>
  version === undefined ? and(eq(secretVersions.name, name), isNull(secretVersions.deletedAt)) : and(eq(secretVersions.name, name), eq(secretVersions.version, version), isNull(secretVersions.deletedAt));

export class PostgresSecrets implements SecretStorage {
  constructor(private readonly pg: Database) {}

  put(name: string, build: (version: number) => { row: Omit<SecretVersionRow, 'name' | 'version'>; audit: AuditInput }): Promise<SecretVersionRow> {
    return this.pg.tx(async ({ client, db }) => {
      // Numbering: one past the highest ever used, whoever writes at the same time.
      await client.query('LOCK TABLE secret_versions IN SHARE ROW EXCLUSIVE MODE');
      const last = (await db.select({ v: max(secretVersions.version) }).from(secretVersions).where(eq(secretVersions.name, name)))[0];
      const version = (last?.v ?? 0) + 1;
      const built = build(version);
      const row: SecretVersionRow = { ...built.row, name, version };
      await db.insert(secretVersions).values(secretVersionToRow(row));
      await appendIn(client, [built.audit]);
      return row;
    });
  }

  async exists(name: string): Promise<boolean> {
    return (await this.pg.run((db) => db.select({ v: secretVersions.version }).from(secretVersions).where(eq(secretVersions.name, name)).limit(1))).length > 0;
  }

  async listLive(): Promise<SecretVersionMeta[]> {
    const rows = await this.pg.run((db) => db.select().from(secretVersions).where(isNull(secretVersions.deletedAt)).orderBy(asc(secretVersions.name), asc(secretVersions.version)));
    return rows.map((r) => {
      const { value: _value, ...meta } = secretVersionFromRow(r);
      return meta;
    });
  }

  async findLive(name: string, version?: number): Promise<SecretVersionRow | undefined> {
    const r = (await this.pg.run((db) => db.select().from(secretVersions).where(live(name, version)).orderBy(desc(secretVersions.version)).limit(1)))[0];
    return r ? secretVersionFromRow(r) : undefined;
  }

  delete(name: string, version: number | undefined, now: number, actor: string, audit: AuditOf<number[]>): Promise<number[]> {
    return this.pg.tx(async ({ client, db }) => {
      const deleted = await db.update(secretVersions).set({ value: null, deletedAt: now, deletedBy: actor }).where(live(name, version)).returning({ version: secretVersions.version });
      const versions = deleted.map((d) => d.version).sort((a, b) => a - b);
      if (versions.length > 0) await appendIn(client, [audit(versions)], now);
      return versions;
    });
  }
}
