// Result-signing keys and server secrets, private material only as envelopes under the KEK
// (PostgreSQL; mirrors sqlite/schema/signing-keys.ts).
import { bigint, pgTable, text } from 'drizzle-orm/pg-core';

export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  retiredAt: bigint('retired_at', { mode: 'number' }),
  publishUntil: bigint('publish_until', { mode: 'number' }),
  publicJwk: text('public_jwk').notNull(),
  privateKey: text('private_key').notNull(),
});

export const serverSecrets = pgTable('server_secrets', {
  name: text('name').primaryKey(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  value: text('value').notNull(),
});
