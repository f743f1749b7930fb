// Named sets of reference values (PostgreSQL; mirrors sqlite/schema/reference-values.ts).
import { bigint, pgTable, text } from 'drizzle-orm/pg-core';

export const referenceValues = pgTable('reference_values', {
  name: text('name').primaryKey(),
  /** JSON array of lower-case hex strings, as text (the same bytes as on SQLite). */
  values: text('values').notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  updatedBy: text('updated_by').notNull(),
});
