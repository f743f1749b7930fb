// One row (id = 1) whose counter `n` moves whenever the configuration that every attestation
// reads changes: signing keys, the active policy, policy versions, reference values. SQLite
// triggers (migrations/sqlite/0004_config_epoch.sql) bump it inside the writing transaction, whatever
// connection writes (this service, another replica, the CLI), so a store may keep what it
// decoded for as long as `n` has not moved (server/storage/epoch-cached.ts).
import { sql } from 'drizzle-orm';
import { check, integer, sqliteTable } from 'drizzle-orm/sqlite-core';

export const configEpoch = sqliteTable(
  'config_epoch',
  {
    id: integer('id').primaryKey(),
    n: integer('n').notNull(),
  },
  (t) => [check('config_epoch_single_row', sql`${t.id} = 1`)],
);
