// Rate-limit windows counted in the database, so `rateLimit.*` and
// `collateral.maxNewDocumentsPerMinute` bound the whole deployment, not each replica
// (PostgreSQL only: the SQLite engine counts in memory).
import { bigint, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';

export const rateLimitWindows = pgTable(
  'rate_limit_windows',
  {
    bucket: text('bucket').notNull(),
    address: text('address').notNull(),
    /** Start of the current fixed window (ms). */
    windowStart: bigint('window_start', { mode: 'number' }).notNull(),
    count: integer('count').notNull(),
  },
  (t) => [primaryKey({ columns: [t.bucket, t.address] })],
);
