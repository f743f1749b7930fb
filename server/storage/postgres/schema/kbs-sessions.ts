// KBS protocol sessions (PostgreSQL; mirrors sqlite/schema/kbs-sessions.ts): shared by every
// replica, so /auth, /attest and /resource of one guest may each land on a different one.
import { bigint, pgTable, text } from 'drizzle-orm/pg-core';

export const kbsSessions = pgTable('kbs_sessions', {
  id: text('id').primaryKey(),
  nonce: text('nonce').notNull(),
  tee: text('tee').notNull(),
  state: text('state').notNull(),
  hashAlg: text('hash_alg').notNull(),
  teePubkey: text('tee_pubkey'),
  token: text('token'),
  attestationId: text('attestation_id'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
});
