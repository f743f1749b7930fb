// Appraisal policies: immutable versions kept forever, and which one is active.
import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const policyVersions = sqliteTable(
  'policy_versions',
  {
    name: text('name').notNull(),
    version: integer('version').notNull(),
    /** policyHash() of the parsed policy. */
    hash: text('hash').notNull(),
    /** The document exactly as uploaded, and its format (yaml | json). */
    source: text('source').notNull(),
    format: text('format').notNull(),
    createdAt: integer('created_at').notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.name, t.version] })],
);

/** One row (id = 1): the policy version every attestation is appraised with. */
export const activePolicy = sqliteTable('active_policy', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
  version: integer('version').notNull(),
  activatedAt: integer('activated_at').notNull(),
});
