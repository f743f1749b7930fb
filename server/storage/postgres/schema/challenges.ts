// Consumed challenges (PostgreSQL; mirrors sqlite/schema/challenges.ts): the nonce is the
// primary key, so a second consumption by any replica finds it taken.
import { bigint, pgTable, text } from 'drizzle-orm/pg-core';

export const consumedChallenges = pgTable('consumed_challenges', {
  nonce: text('nonce').primaryKey(),
  consumedAt: bigint('consumed_at', { mode: 'number' }).notNull(),
  expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
});
