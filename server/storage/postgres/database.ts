// One PostgreSQL database as the engine's files use it: the pool, drizzle over it, and the
// two ways to run work (a statement, or a transaction on one connection that both drizzle
// and raw statements share), each with its failures mapped (errors.ts).

import { DrizzleQueryError } from 'drizzle-orm/errors';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import { isUnavailable, mapPostgresError } from './errors.ts';
import * as schema from './schema/index.ts';

export type Db = NodePgDatabase<typeof schema>;

/** A transaction: the connection it holds, and drizzle on that connection. */
export interface Tx {
  client: pg.PoolClient;
  db: Db;
}

/** drizzle wraps driver errors with the query and its parameters (sealed values among them): keep only the driver's. */
function unwrap(err: unknown): unknown {
  return err instanceof DrizzleQueryError && err.cause !== undefined ? err.cause : err;
}

export class Database {
  readonly db: Db;

  constructor(
    readonly pool: pg.Pool,
    /** The URL as the driver has it: only to scrub it from messages. */
    private readonly url: string,
  ) {
    this.db = drizzle(pool, { schema });
  }

  map(err: unknown): unknown {
    return mapPostgresError(unwrap(err), this.url);
  }

  /** Run `work` on the pool (each statement takes any free connection). */
  async run<T>(work: (db: Db) => Promise<T>): Promise<T> {
    try {
      return await work(this.db);
    } catch (err) {
      throw this.map(err);
    }
  }

  /** Run `work` in one READ COMMITTED transaction on one connection: committed when it resolves, rolled back when it throws. */
  async tx<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.map(err);
    }
    let broken: unknown;
    try {
      // Durable at COMMIT whatever the server's or role's default (a 200 means committed and
      // on disk); one round trip with the BEGIN.
      await client.query('BEGIN; SET LOCAL synchronous_commit TO on');
      const value = await work({ client, db: drizzle(client, { schema }) });
      await client.query('COMMIT');
      return value;
    } catch (err) {
      const e = unwrap(err);
      if (isUnavailable(e)) broken = e;
      else await client.query('ROLLBACK').catch((rollbackErr: unknown) => (broken = rollbackErr));
      throw this.map(e);
    } finally {
      // A connection that failed is destroyed rather than handed to the next caller.
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
    }
  }
}
