// Every attestation decision (issued or denied), with the verification result kept so that
// a draft policy can be replayed against the past (POST /v1/policies/replay).
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const attestations = sqliteTable(
  'attestations',
  {
    id: text('id').primaryKey(),
    createdAt: integer('created_at').notNull(),
    tee: text('tee').notNull(),
    /** affirming | warning | contraindicated */
    status: text('status').notNull(),
    policyName: text('policy_name').notNull(),
    policyVersion: integer('policy_version').notNull(),
    policyHash: text('policy_hash').notNull(),
    /** SHA-256 (hex) of the canonical JSON of the claims. */
    claimsDigest: text('claims_digest'),
    /** The issued token's jti; null for a denial. */
    tokenJti: text('token_jti'),
    clientAddress: text('client_address'),
    /** The VerificationResult as JSON. */
    result: text('result').notNull(),
  },
  (t) => [index('attestations_created_at').on(t.createdAt)],
);
