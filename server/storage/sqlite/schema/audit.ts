// The append-only, hash-chained audit log (server/audit/log.ts computes the hashes).
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const auditLog = sqliteTable(
  'audit_log',
  {
    seq: integer('seq').primaryKey(),
    at: integer('at').notNull(),
    action: text('action').notNull(),
    outcome: text('outcome').notNull(),
    actor: text('actor').notNull(),
    subject: text('subject'),
    tee: text('tee'),
    clientAddress: text('client_address'),
    /** Canonical JSON object with the action's details. */
    details: text('details').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [index('audit_log_at').on(t.at)],
);
