// Challenges are stateless (HMAC-signed, see server/challenge.ts); the database only
// remembers which ones were consumed, so that each is used once across all replicas.
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const consumedChallenges = sqliteTable('consumed_challenges', {
  /** The challenge nonce, base64url. Primary key: a second consumption fails on it. */
  nonce: text('nonce').primaryKey(),
  consumedAt: integer('consumed_at').notNull(),
  /** Rows past this instant can be pruned: an expired challenge is refused before the lookup. */
  expiresAt: integer('expires_at').notNull(),
});
