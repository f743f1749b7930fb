// Result-signing keys and server secrets on PostgreSQL: rows of sealed envelopes (the sealing
// is server/keys/'s). Key writes lock signing_keys against each other, so replicas starting
// or rotating together keep exactly one active key; each write moves the configuration
// epoch (trigger), so every replica signs with the new key from its next request.

import { desc, eq, gt, isNull, or } from 'drizzle-orm';
import type { AuditInput, AuditOf, PublicSigningKeyRow, ServerSecretStorage, SigningKeyRow, SigningKeyStorage } from '../store.ts';
import { appendIn } from './audit.ts';
import type { Database, Db } from './database.ts';
import { serverSecrets, signingKeys } from './schema/signing-keys.ts';

const publicColumns = {
  kid: signingKeys.kid,
  createdAt: signingKeys.createdAt,
  retiredAt: signingKeys.retiredAt,
  publishUntil: signingKeys.publishUntil,
  publicJwk: signingKeys.publicJwk,
};

// Self-conflicting, so key writers queue; plain reads (signing, the JWKS) are not blocked.
const LOCK_KEYS = 'LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE';

async function activeRow(db: Db): Promise<Pick<SigningKeyRow, 'kid' | 'privateKey'> | undefined> {
  return (await db.select({ kid: signingKeys.kid, privateKey: signingKeys.privateKey }).from(signingKeys).where(isNull(signingKeys.retiredAt)).orderBy(desc(signingKeys.createdAt)).limit(1))[0];
}

export class PostgresSigningKeys implements SigningKeyStorage {
  constructor(private readonly pg: Database) {}

  active(): Promise<Pick<SigningKeyRow, 'kid' | 'privateKey'> | undefined> {
    return this.pg.run(activeRow);
  }

  createIfNoActive(row: SigningKeyRow, audit: AuditInput): Promise<boolean> {
    return this.pg.tx(async ({ client, db }) => {
      await client.query(LOCK_KEYS);
      // Another replica may have created one meanwhile: keep theirs.
      if (await activeRow(db)) return false;
      await db.insert(signingKeys).values(row);
      await appendIn(client, [audit]);
      return true;
    });
  }

  rotate(row: SigningKeyRow, publishUntil: number, audit: AuditOf<string | null>): Promise<{ retired: string | null }> {
    return this.pg.tx(async ({ client, db }) => {
      await client.query(LOCK_KEYS);
      const retired = (await activeRow(db))?.kid ?? null;
      await db.update(signingKeys).set({ retiredAt: row.createdAt, publishUntil }).where(isNull(signingKeys.retiredAt));
      await db.insert(signingKeys).values(row);
      await appendIn(client, [audit(retired)]);
      return { retired };
    });
  }

  published(now: number): Promise<PublicSigningKeyRow[]> {
    return this.pg.run((db) =>
      db
        .select(publicColumns)
        .from(signingKeys)
        .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.publishUntil, now)))
        .orderBy(desc(signingKeys.createdAt)),
    );
  }

  all(): Promise<PublicSigningKeyRow[]> {
    return this.pg.run((db) => db.select(publicColumns).from(signingKeys).orderBy(desc(signingKeys.createdAt)));
  }
}

export class PostgresServerSecrets implements ServerSecretStorage {
  constructor(private readonly pg: Database) {}

  getOrCreate(name: string, sealed: string, now: number): Promise<string> {
    return this.pg.run(async (db) => {
      // Insert-if-absent, then read back (a new snapshot): replicas starting together all use the winner's.
      await db.insert(serverSecrets).values({ name, createdAt: now, value: sealed }).onConflictDoNothing();
      const row = (await db.select().from(serverSecrets).where(eq(serverSecrets.name, name)))[0];
      if (!row) throw new Error(`server secret ${name} could not be stored`);
      return row.value;
    });
  }
}
