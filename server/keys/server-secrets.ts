// Random server-wide secrets that every replica must share (the challenge HMAC key), kept
// in the database as envelopes under the KEK.

import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { decryptEnvelope, encryptEnvelope, parseEnvelope, serializeEnvelope } from '../crypto/envelope.ts';
import type { Db } from '../storage/db.ts';
import { serverSecrets } from '../storage/schema/signing-keys.ts';

/** Envelope context of server secret `name`: the envelope opens only as that secret's row. */
export const serverSecretContext = (name: string): string => `server-secret:${name}`;

/** The secret `name`, created with `length` random bytes on first use. */
export function getOrCreateServerSecret(db: Db, kek: Buffer, name: string, length: number): Buffer {
  const context = serverSecretContext(name);
  // Insert-if-absent then read back: when two replicas start together, both use the winner's.
  db.insert(serverSecrets)
    .values({ name, createdAt: Date.now(), value: serializeEnvelope(encryptEnvelope(kek, randomBytes(length), context)) })
    .onConflictDoNothing()
    .run();
  const row = db.select().from(serverSecrets).where(eq(serverSecrets.name, name)).get();
  if (!row) throw new Error(`server secret ${name} could not be stored`);
  return decryptEnvelope(kek, parseEnvelope(row.value), context);
}
