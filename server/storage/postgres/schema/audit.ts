// The append-only, hash-chained audit log (PostgreSQL; mirrors sqlite/schema/audit.ts). The
// append-only triggers are a custom migration (migrations/postgres/*_audit_append_only.sql).
import { bigint, index, pgTable, text } from 'drizzle-orm/pg-core';

export const auditLog = pgTable(
  'audit_log',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    at: bigint('at', { mode: 'number' }).notNull(),
    action: text('action').notNull(),
    outcome: text('outcome').notNull(),
    actor: text('actor').notNull(),
    subject: text('subject'),
    tee: text('tee'),
    clientAddress: text('client_address'),
    /** Canonical JSON text: the hash covers these exact bytes, so not jsonb. */
    details: text('details').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [index('audit_log_at').on(t.at)],
);
