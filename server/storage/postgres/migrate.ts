// The PostgreSQL engine's migrations: what drizzle-kit generated into migrations/postgres/
// (and the custom trigger migrations beside them), applied at every start under a
// session advisory lock, so N replicas starting at once on an empty database migrate once:
// the first applies them, the others wait for the lock, then find nothing left to apply.

import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type pg from 'pg';
import type { Database } from './database.ts';
import { LOCK_CLASS, MIGRATION_LOCK } from './locks.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/postgres', import.meta.url));

/** Apply the migrations not yet applied; returns how many were applied by this call. */
export async function migratePostgres(pg: Database): Promise<number> {
  let client;
  try {
    client = await pg.pool.connect();
  } catch (err) {
    throw pg.map(err);
  }
  let broken: unknown;
  try {
    // Another replica may be migrating: wait for it (longer than a statement usually may).
    await client.query({ text: 'SELECT pg_advisory_lock($1, $2)', values: [LOCK_CLASS, MIGRATION_LOCK], query_timeout: 300_000 } as pg.QueryConfig);
    try {
      const before = await appliedCount(client);
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_DIR });
      return (await appliedCount(client)) - before;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, MIGRATION_LOCK]).catch((err: unknown) => (broken = err));
    }
  } catch (err) {
    broken ??= err;
    throw pg.map(err);
  } finally {
    client.release(broken === undefined ? undefined : true);
  }
}

/** How many migrations drizzle recorded as applied (0 on an empty database). */
async function appliedCount(client: pg.PoolClient): Promise<number> {
  // Two statements: a relation named in a query must exist when it is planned.
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('drizzle.__drizzle_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return 0;
  const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM drizzle.__drizzle_migrations');
  return Number(rows[0]?.n ?? 0);
}
