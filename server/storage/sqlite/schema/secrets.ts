// Secrets released to attested guests (issue 6). Every PUT makes a new immutable version;
// a deleted version keeps its row as a tombstone (value gone, metadata kept) so version
// numbers are never reused and "who deleted what, when" stays answerable.
import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const secretVersions = sqliteTable(
  'secret_versions',
  {
    name: text('name').notNull(),
    version: integer('version').notNull(),
    createdAt: integer('created_at').notNull(),
    createdBy: text('created_by').notNull(),
    description: text('description'),
    /** JSON object of string labels. */
    labels: text('labels').notNull(),
    /** CEL release policy (verifier/policy/release.ts); null: any accepted result may have it. */
    releasePolicy: text('release_policy'),
    /** JSON array of appraisal policy names whose results are accepted; null: any. */
    acceptPolicies: text('accept_policies'),
    /** JSON array of accepted EAR statuses (default ["affirming"]). */
    acceptStatuses: text('accept_statuses').notNull(),
    /** Envelope (server/crypto/envelope.ts) of the value under the KEK; null once deleted. */
    value: text('value'),
    /** Length of the value in bytes (shown in listings; never the value or a hash of it). */
    size: integer('size').notNull(),
    deletedAt: integer('deleted_at'),
    deletedBy: text('deleted_by'),
  },
  (t) => [primaryKey({ columns: [t.name, t.version] })],
);
