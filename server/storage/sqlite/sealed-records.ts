// Every record sealed under the KEK, re-sealed in one transaction (KEK rotation,
// server/secrets/kek-rotation.ts): all of them or, when one does not open, none.

import { and, eq, isNotNull } from 'drizzle-orm';
import type { AuditOf, SealedRecord, SealedRecordStorage } from '../store.ts';
import { appendEntries } from './audit.ts';
import type { Db } from './connection.ts';
import { run } from './errors.ts';
import { secretVersions } from './schema/secrets.ts';
import { serverSecrets, signingKeys } from './schema/signing-keys.ts';

type Counts = { secretVersions: number; signingKeys: number; serverSecrets: number };

export class SqliteSealedRecords implements SealedRecordStorage {
  constructor(private readonly db: Db) {}

  resealAll(reseal: (record: SealedRecord) => string, audit: AuditOf<Counts>): Promise<Counts> {
    const db = this.db;
    return run(() =>
      db.$client
        .transaction((): Counts => {
          const counts: Counts = { secretVersions: 0, signingKeys: 0, serverSecrets: 0 };
          for (const row of db.select({ name: secretVersions.name, version: secretVersions.version, value: secretVersions.value }).from(secretVersions).where(isNotNull(secretVersions.value)).all()) {
            const value = reseal({ kind: 'secret-version', name: row.name, version: row.version, sealed: row.value! });
            db.update(secretVersions).set({ value }).where(and(eq(secretVersions.name, row.name), eq(secretVersions.version, row.version))).run();
            counts.secretVersions += 1;
          }
          for (const row of db.select({ kid: signingKeys.kid, privateKey: signingKeys.privateKey }).from(signingKeys).all()) {
            const privateKey = reseal({ kind: 'signing-key', kid: row.kid, sealed: row.privateKey });
            db.update(signingKeys).set({ privateKey }).where(eq(signingKeys.kid, row.kid)).run();
            counts.signingKeys += 1;
          }
          for (const row of db.select().from(serverSecrets).all()) {
            const value = reseal({ kind: 'server-secret', name: row.name, sealed: row.value });
            db.update(serverSecrets).set({ value }).where(eq(serverSecrets.name, row.name)).run();
            counts.serverSecrets += 1;
          }
          appendEntries(db, [audit(counts)]);
          return counts;
        })
        .immediate(),
    );
  }

  list(): Promise<SealedRecord[]> {
    const db = this.db;
    return run(() => [
      ...db
        .select({ name: secretVersions.name, version: secretVersions.version, value: secretVersions.value })
        .from(secretVersions)
        .where(isNotNull(secretVersions.value))
        .all()
        .map((r): SealedRecord => ({ kind: 'secret-version', name: r.name, version: r.version, sealed: r.value! })),
      ...db
        .select({ kid: signingKeys.kid, privateKey: signingKeys.privateKey })
        .from(signingKeys)
        .all()
        .map((r): SealedRecord => ({ kind: 'signing-key', kid: r.kid, sealed: r.privateKey })),
      ...db
        .select()
        .from(serverSecrets)
        .all()
        .map((r): SealedRecord => ({ kind: 'server-secret', name: r.name, sealed: r.value })),
    ]);
  }
}
