// API tokens for the admin and auditor scopes. Only the SHA-256 of a token is stored.
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const apiTokens = sqliteTable('api_tokens', {
  /** Public identifier, also the token's prefix: lets an operator name a token without knowing it. */
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** admin | auditor */
  scope: text('scope').notNull(),
  /** SHA-256 (hex) of the whole token. */
  hash: text('hash').notNull().unique(),
  createdAt: integer('created_at').notNull(),
  revokedAt: integer('revoked_at'),
  /** Refused from this time on (ms since the epoch); null: until revoked. */
  expiresAt: integer('expires_at'),
});
