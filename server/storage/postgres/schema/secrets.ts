// Secret versions: immutable rows, tombstoned on delete (PostgreSQL; mirrors sqlite/schema/secrets.ts).
import { bigint, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';

export const secretVersions = pgTable(
  'secret_versions',
  {
    name: text('name').notNull(),
    version: integer('version').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    createdBy: text('created_by').notNull(),
    description: text('description'),
    labels: text('labels').notNull(),
    releasePolicy: text('release_policy'),
    acceptPolicies: text('accept_policies'),
    acceptStatuses: text('accept_statuses').notNull(),
    /** Envelope of the value under the KEK; null once deleted. */
    value: text('value'),
    size: integer('size').notNull(),
    deletedAt: bigint('deleted_at', { mode: 'number' }),
    deletedBy: text('deleted_by'),
  },
  (t) => [primaryKey({ columns: [t.name, t.version] })],
);
