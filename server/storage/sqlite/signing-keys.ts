// Result-signing keys and server secrets on SQLite: rows of sealed envelopes (the sealing is
// server/keys/'s), written under BEGIN IMMEDIATE so replicas starting or rotating together
// keep one active key.

import { desc, eq, gt, isNull, or } from 'drizzle-orm';
import type { AuditInput, AuditOf, PublicSigningKeyRow, ServerSecretStorage, SigningKeyRow, SigningKeyStorage } from '../store.ts';
import { appendEntries } from './audit.ts';
import type { Db } from './connection.ts';
import { lazy, run } from './errors.ts';
import { serverSecrets, signingKeys } from './schema/signing-keys.ts';

const publicColumns = {
  kid: signingKeys.kid,
  createdAt: signingKeys.createdAt,
  retiredAt: signingKeys.retiredAt,
  publishUntil: signingKeys.publishUntil,
  publicJwk: signingKeys.publicJwk,
};

export class SqliteSigningKeys implements SigningKeyStorage {
  // Prepared once: runs whenever the configuration epoch moved, and in every write path.
  private readonly activeQuery = lazy(() =>
    this.db.select({ kid: signingKeys.kid, privateKey: signingKeys.privateKey }).from(signingKeys).where(isNull(signingKeys.retiredAt)).orderBy(desc(signingKeys.createdAt)).limit(1).prepare(),
  );

  constructor(private readonly db: Db) {}

  private activeRow() {
    return this.activeQuery().get();
  }

  active(): Promise<Pick<SigningKeyRow, 'kid' | 'privateKey'> | undefined> {
    return run(() => this.activeRow());
  }

  createIfNoActive(row: SigningKeyRow, audit: AuditInput): Promise<boolean> {
    return run(() =>
      this.db.$client
        .transaction(() => {
          // Another replica may have created one meanwhile: keep theirs.
          if (this.activeRow()) return false;
          this.db.insert(signingKeys).values(row).run();
          appendEntries(this.db, [audit]);
          return true;
        })
        .immediate(),
    );
  }

  rotate(row: SigningKeyRow, publishUntil: number, audit: AuditOf<string | null>): Promise<{ retired: string | null }> {
    return run(() =>
      this.db.$client
        .transaction(() => {
          const retired = this.activeRow()?.kid ?? null;
          this.db.update(signingKeys).set({ retiredAt: row.createdAt, publishUntil }).where(isNull(signingKeys.retiredAt)).run();
          this.db.insert(signingKeys).values(row).run();
          appendEntries(this.db, [audit(retired)]);
          return { retired };
        })
        .immediate(),
    );
  }

  published(now: number): Promise<PublicSigningKeyRow[]> {
    return run(() =>
      this.db
        .select(publicColumns)
        .from(signingKeys)
        .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.publishUntil, now)))
        .orderBy(desc(signingKeys.createdAt))
        .all(),
    );
  }

  all(): Promise<PublicSigningKeyRow[]> {
    return run(() => this.db.select(publicColumns).from(signingKeys).orderBy(desc(signingKeys.createdAt)).all());
  }
}

export class SqliteServerSecrets implements ServerSecretStorage {
  constructor(private readonly db: Db) {}

  getOrCreate(name: string, sealed: string, now: number): Promise<string> {
    return run(() => {
      // Insert-if-absent then read back: when two replicas start together, both use the winner's.
      this.db.insert(serverSecrets).values({ name, createdAt: now, value: sealed }).onConflictDoNothing().run();
      const row = this.db.select().from(serverSecrets).where(eq(serverSecrets.name, name)).get();
      if (!row) throw new Error(`server secret ${name} could not be stored`);
      return row.value;
    });
  }
}
