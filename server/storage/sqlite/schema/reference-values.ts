// Named sets of reference values (measurements, lower-case hex) that policies refer to.
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const referenceValues = sqliteTable('reference_values', {
  name: text('name').primaryKey(),
  /** JSON array of lower-case hex strings. */
  values: text('values').notNull(),
  updatedAt: integer('updated_at').notNull(),
  updatedBy: text('updated_by').notNull(),
});
