// KBS protocol sessions (server/kbs/): the state between POST /kbs/v0/auth, /attest and GET
// /resource lives here, not in a replica's memory, so consecutive requests of one guest may
// land on different replicas (trustee kbs/src/api_server.rs keeps them in a local map).
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const kbsSessions = sqliteTable('kbs_sessions', {
  /** The kbs-session-id cookie value: 128 random bits, hex. */
  id: text('id').primaryKey(),
  /** The nonce handed out by /auth (base64, as trustee does). */
  nonce: text('nonce').notNull(),
  tee: text('tee').notNull(),
  /** `auth` until /attest succeeds once, then `attested`: the nonce is used once. */
  state: text('state').notNull(),
  /** The negotiated hash of REPORT_DATA (sha384 unless extra-params chose another). */
  hashAlg: text('hash_alg').notNull(),
  /** The attested tee-pubkey (JWK JSON); null until attested. */
  teePubkey: text('tee_pubkey'),
  /** The EAR issued at /attest; null until attested. */
  token: text('token'),
  attestationId: text('attestation_id'),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
});
