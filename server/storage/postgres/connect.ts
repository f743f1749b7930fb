// The PostgreSQL engine's connection: one `pg` Pool from a `postgres://user[:password]@host:port/db`
// URL. The password may be in the URL or in the standard PG* variables (PGPASSWORD,
// PGPASSFILE...; pg reads them itself). It is never logged: every message this engine
// writes or throws names the database by redactUrl(), and redactSecrets() scrubs what a
// driver error might echo back.

import pg from 'pg';

/** Connections per replica unless configured (?pool=N in the URL or `poolSize`). */
export const DEFAULT_POOL_SIZE = 10;
/** How long a request waits for a connection (the pool busy, or the server not answering). */
export const CONNECT_TIMEOUT_MS = 5000;
/** How long one statement may go unanswered before the database counts as unavailable (a partition, a hung server). */
export const QUERY_TIMEOUT_MS = 15_000;

export interface PostgresTarget {
  /** The URL as given, for the driver only. */
  url: string;
  /** The URL with any password replaced by ***, for every log line and error. */
  redacted: string;
  poolSize: number;
}

/** Whether `value` names a PostgreSQL database (the `database` option) rather than a directory. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** `url` with its password (if any) replaced by ***. Anything that does not parse is hidden whole. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    // Query parameters may carry a password too (?password=...).
    for (const k of [...u.searchParams.keys()]) if (/pass/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/** `text` with every password this process could connect with replaced by ***. */
export function redactSecrets(text: string, url?: string): string {
  const secrets: string[] = [];
  if (process.env.PGPASSWORD) secrets.push(process.env.PGPASSWORD);
  if (url) {
    try {
      const u = new URL(url);
      if (u.password) secrets.push(u.password, decodeURIComponent(u.password));
      for (const [k, v] of u.searchParams) if (/pass/i.test(k) && v) secrets.push(v);
    } catch {
      // an unparseable URL is never printed anyway
    }
    if (url.length > 0) secrets.push(url);
  }
  let out = text;
  for (const s of secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length)) out = out.split(s).join(url && s === url ? redactUrl(url) : '***');
  return out;
}

/** Parse the `database` option: a postgres:// URL, its pool size from `?pool=N` or `poolSize`. */
export function postgresTarget(url: string, poolSize?: number): PostgresTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`the database URL ${redactUrl(url)} is not a URL (expected postgres://user@host:5432/db)`);
  }
  if (!isPostgresUrl(url)) throw new Error(`the database URL ${redactUrl(url)} is not a postgres:// URL`);
  const fromUrl = u.searchParams.get('pool');
  const size = poolSize ?? (fromUrl === null ? DEFAULT_POOL_SIZE : Number(fromUrl));
  if (!Number.isInteger(size) || size < 1 || size > 1000) throw new Error(`the pool size of ${redactUrl(url)} must be an integer from 1 to 1000, not ${String(fromUrl ?? poolSize)}`);
  // `pool` is ours, not libpq's: pg would pass it to the server as an option.
  u.searchParams.delete('pool');
  return { url: u.toString(), redacted: redactUrl(u.toString()), poolSize: size };
}

/**
 * The pool. Its `error` event (an idle connection dropped: the server restarted, a backend
 * was terminated) is handed to `onIdleError` instead of crashing the process: the pool
 * discards that connection and opens a new one on the next query.
 */
export function openPool(target: PostgresTarget, onIdleError: (err: Error) => void = () => {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: target.url,
    max: target.poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    query_timeout: QUERY_TIMEOUT_MS,
    // A peer that vanished (no FIN, no RST) is noticed by TCP keepalive, not only by the next query.
    keepAlive: true,
    // Each connection tells the server who it is (pg_stat_activity), never a secret.
    application_name: 'tessera',
  });
  pool.on('error', onIdleError);
  // A connection lost while checked out (a transaction open, a document lock held) emits
  // `error` on its client: without a listener that ends the process. The query in progress,
  // or the next one, fails instead, and the holder destroys the connection.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
