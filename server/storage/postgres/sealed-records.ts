// Every record sealed under the KEK, re-sealed in one transaction (KEK rotation,
// server/secrets/kek-rotation.ts): all of them or, when one does not open, none. The tables
// are locked against writers meanwhile, so no record written by another replica during the
// rotation stays sealed under the old KEK.

import { and, eq, isNotNull } from 'drizzle-orm';
import type { AuditOf, SealedRecord, SealedRecordStorage } from '../store.ts';
import { appendIn } from './audit.ts';
import type { Database } from './database.ts';
import { secretVersions } from './schema/secrets.ts';
import { serverSecrets, signingKeys } from './schema/signing-keys.ts';

type Counts = { secretVersions: number; signingKeys: number; serverSecrets: number };

export class PostgresSealedRecords implements SealedRecordStorage {
  constructor(private readonly pg: Database) {}

  resealAll(reseal: (record: SealedRecord) => string, audit: AuditOf<Counts>): Promise<Counts> {
    return this.pg.tx(async ({ client, db }) => {
      await client.query('LOCK TABLE secret_versions, signing_keys, server_secrets IN SHARE ROW EXCLUSIVE MODE');
      const counts: Counts = { secretVersions: 0, signingKeys: 0, serverSecrets: 0 };
      for (const row of await db.select({ name: secretVersions.name, version: secretVersions.version, value: secretVersions.value }).from(secretVersions).where(isNotNull(secretVersions.value))) {
        const value = reseal({ kind: 'secret-version', name: row.name, version: row.version, sealed: row.value! });
        await db.update(secretVersions).set({ value }).where(and(eq(secretVersions.name, row.name), eq(secretVersions.version, row.version)));
        counts.secretVersions += 1;
      }
      for (const row of await db.select({ kid: signingKeys.kid, privateKey: signingKeys.privateKey }).from(signingKeys)) {
        const privateKey = reseal({ kind: 'signing-key', kid: row.kid, sealed: row.privateKey });
        await db.update(signingKeys).set({ privateKey }).where(eq(signingKeys.kid, row.kid));
        counts.signingKeys += 1;
      }
      for (const row of await db.select().from(serverSecrets)) {
        const value = reseal({ kind: 'server-secret', name: row.name, sealed: row.value });
        await db.update(serverSecrets).set({ value }).where(eq(serverSecrets.name, row.name));
        counts.serverSecrets += 1;
      }
      await appendIn(client, [audit(counts)]);
      return counts;
    });
  }

  list(): Promise<SealedRecord[]> {
    return this.pg.run(async (db) => [
      ...(await db.select({ name: secretVersions.name, version: secretVersions.version, value: secretVersions.value }).from(secretVersions).where(isNotNull(secretVersions.value))).map(
        (r): SealedRecord => ({ kind: 'secret-version', name: r.name, version: r.version, sealed: r.value! }),
      ),
      ...(await db.select({ kid: signingKeys.kid, privateKey: signingKeys.privateKey }).from(signingKeys)).map((r): SealedRecord => ({ kind: 'signing-key', kid: r.kid, sealed: r.privateKey })),
      ...(await db.select().from(serverSecrets)).map((r): SealedRecord => ({ kind: 'server-secret', name: r.name, sealed: r.value })),
    ]);
  }
}
