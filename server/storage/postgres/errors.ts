// What the PostgreSQL engine's failures mean to the service: a server that cannot be
// reached, a connection lost or refused, a server shutting down or starting, or too many
// connections is the database being unavailable (temporary: 503 store_unavailable with
// Retry-After, /readyz failing; the pool reconnects by itself on a later query). Anything
// else (a constraint, a bug) passes through. Messages are scrubbed of passwords.

import { StoreUnavailableError } from '../store.ts';
import { redactSecrets } from './connect.ts';

// SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html):
// 08 connection exception; 57P01 admin_shutdown (pg_terminate_backend, a fast shutdown),
// 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up), 53300 too_many_connections,
// 53 insufficient resources.
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '53000', '53100', '53200']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENOENT']);
// What pg throws without a code when a connection ends or cannot be had in time.
const DRIVER_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end|Client was closed|not queryable|Query read timeout/i;

export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (err instanceof AggregateError) return err.errors.some(isUnavailable);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_CODES.has(code) || NETWORK_CODES.has(code))) return true;
  return err instanceof Error && DRIVER_MESSAGES.test(err.message);
}

export function mapPostgresError(err: unknown, url: string): unknown {
  if (err instanceof StoreUnavailableError) return err;
  if (isUnavailable(err)) {
    const why = err instanceof Error ? err.message || (err as { code?: string }).code || err.name : String(err);
    return new StoreUnavailableError(`the PostgreSQL database is unavailable: ${redactSecrets(why, url)}`, err);
  }
  if (err instanceof Error && url) err.message = redactSecrets(err.message, url);
  return err;
}
