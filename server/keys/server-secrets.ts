// Random server-wide secrets that every replica must share (the challenge HMAC key), kept
// in the store as envelopes under the KEK.

import { randomBytes } from 'node:crypto';
import { decryptEnvelope, encryptEnvelope, parseEnvelope, serializeEnvelope } from '../crypto/envelope.ts';
import type { ServerSecretStorage } from '../storage/store.ts';

/** Envelope context of server secret `name`: the envelope opens only as that secret's row. */
export const serverSecretContext = (name: string): string => `server-secret:${name}`;

/** The secret `name`, created with `length` random bytes on first use. */
export async function getOrCreateServerSecret(rows: ServerSecretStorage, kek: Buffer, name: string, length: number): Promise<Buffer> {
  const context = serverSecretContext(name);
  // The first writer's value wins: when two replicas start together, both use it.
  const sealed = await rows.getOrCreate(name, serializeEnvelope(encryptEnvelope(kek, randomBytes(length), context)), Date.now());
  return decryptEnvelope(kek, parseEnvelope(sealed), context);
}
