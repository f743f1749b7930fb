// API tokens for the admin and auditor scopes (PostgreSQL; mirrors sqlite/schema/api-tokens.ts).
// Only the SHA-256 of a token is stored.
import { bigint, pgTable, text } from 'drizzle-orm/pg-core';

export const apiTokens = pgTable('api_tokens', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** admin | auditor */
  scope: text('scope').notNull(),
  /** SHA-256 (hex) of the whole token. */
  hash: text('hash').notNull().unique(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  revokedAt: bigint('revoked_at', { mode: 'number' }),
  /** Refused from this time on (ms since the epoch); null: until revoked. */
  expiresAt: bigint('expires_at', { mode: 'number' }),
});
