// Every attestation decision, with its verification result for policy replay (PostgreSQL;
// mirrors sqlite/schema/attestations.ts).
import { bigint, index, integer, pgTable, text } from 'drizzle-orm/pg-core';

export const attestations = pgTable(
  'attestations',
  {
    id: text('id').primaryKey(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    tee: text('tee').notNull(),
    /** affirming | warning | contraindicated */
    status: text('status').notNull(),
    policyName: text('policy_name').notNull(),
    policyVersion: integer('policy_version').notNull(),
    policyHash: text('policy_hash').notNull(),
    claimsDigest: text('claims_digest'),
    tokenJti: text('token_jti'),
    clientAddress: text('client_address'),
    /** The VerificationResult as JSON text (kept as text: byte-for-byte what was decided). */
    result: text('result').notNull(),
  },
  (t) => [index('attestations_created_at').on(t.createdAt)],
);
