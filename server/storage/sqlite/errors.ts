// What the SQLite engine's failures mean to the service: a lock held past busy_timeout, or a
// connection already closed, is the database being unavailable (temporary, answered 503
// store_unavailable); anything else (a constraint, a bug) passes through as it is.

import { StoreUnavailableError } from '../store.ts';

const UNAVAILABLE = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN']);

export function mapSqliteError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE.has(code.split('_').slice(0, 2).join('_'))) {
    return new StoreUnavailableError(`the SQLite database is unavailable: ${(err as Error).message}`, err);
  }
  if (err instanceof TypeError && /database connection is not open/.test(err.message)) {
    return new StoreUnavailableError('the SQLite database is closed', err);
  }
  return err;
}

/** Run a synchronous better-sqlite3 call as the interfaces' promise, its failure mapped. */
export async function run<T>(work: () => T): Promise<T> {
  try {
    return work();
  } catch (err) {
    throw mapSqliteError(err);
  }
}

/** For a promise's catch: rethrow with the failure mapped. */
export function rethrowMapped(err: unknown): never {
  throw mapSqliteError(err);
}

/** A value made on first use (statements over tables an older, read-only database may lack are prepared only when used). */
export function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value as T;
  };
}
