// The collateral cache shared by every replica (PostgreSQL; mirrors sqlite/schema/collateral.ts).
// Untrusted bytes: the verifiers check every document against the pinned roots on every use.
import { bigint, boolean, customType, index, pgTable, text } from 'drizzle-orm/pg-core';

// bytea as a Buffer in and out (drizzle-orm's pg-core has no bytea column of its own).
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

export const collateralDocuments = pgTable(
  'collateral_documents',
  {
    key: text('key').primaryKey(),
    kind: text('kind').notNull(),
    bytes: bytea('bytes').notNull(),
    issuerChain: text('issuer_chain'),
    source: text('source').notNull(),
    fetchedAt: bigint('fetched_at', { mode: 'number' }).notNull(),
    nextUpdate: bigint('next_update', { mode: 'number' }),
    immutable: boolean('immutable').notNull(),
  },
  (t) => [index('collateral_documents_next_update').on(t.nextUpdate)],
);
