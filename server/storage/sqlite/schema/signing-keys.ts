// Keys the server holds: result-signing keys (ES256) and the challenge HMAC key. Private
// material is stored only as an envelope (server/crypto/envelope.ts) under the KEK.
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const signingKeys = sqliteTable('signing_keys', {
  kid: text('kid').primaryKey(),
  createdAt: integer('created_at').notNull(),
  /** When it stopped signing (rotation); null while active. */
  retiredAt: integer('retired_at'),
  /** Published in the JWKS until this instant: retirement + the longest token lifetime. */
  publishUntil: integer('publish_until'),
  publicJwk: text('public_jwk').notNull(),
  /** Envelope (JSON) of the PKCS#8 private key. */
  privateKey: text('private_key').notNull(),
});

/** Server-wide secrets shared by replicas (e.g. `challenge-hmac`), each an envelope. */
export const serverSecrets = sqliteTable('server_secrets', {
  name: text('name').primaryKey(),
  createdAt: integer('created_at').notNull(),
  value: text('value').notNull(),
});
