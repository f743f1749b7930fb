// Appraisal policies: immutable versions and the active one (PostgreSQL; mirrors
// sqlite/schema/policies.ts).
import { bigint, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';

export const policyVersions = pgTable(
  'policy_versions',
  {
    name: text('name').notNull(),
    version: integer('version').notNull(),
    hash: text('hash').notNull(),
    source: text('source').notNull(),
    format: text('format').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.name, t.version] })],
);

/** One row (id = 1): the policy version every attestation is appraised with. */
export const activePolicy = pgTable('active_policy', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
  version: integer('version').notNull(),
  activatedAt: bigint('activated_at', { mode: 'number' }).notNull(),
});
