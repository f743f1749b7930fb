// One row (id = 1) whose counter moves in the same transaction as any write to signing keys,
// the active policy, policy versions or reference values (plpgsql triggers,
// migrations/postgres/*_config_epoch_triggers.sql), whichever replica writes: every replica
// reads it once per attestation and reloads what it cached when it moved.
import { sql } from 'drizzle-orm';
import { bigint, check, integer, pgTable } from 'drizzle-orm/pg-core';

export const configEpoch = pgTable(
  'config_epoch',
  {
    id: integer('id').primaryKey(),
    n: bigint('n', { mode: 'number' }).notNull(),
  },
  (t) => [check('config_epoch_single_row', sql`${t.id} = 1`)],
);
