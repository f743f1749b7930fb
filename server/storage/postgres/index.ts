// The PostgreSQL engine: every interface of server/storage/store.ts over one `pg` pool, for
// N replicas on one database. What must hold across replicas is held by the database:
// challenge consumption by the primary key, the audit chain by an advisory lock per append,
// the configuration epoch by triggers, rate limits by counted rows, cold collateral fetches
// by a per-document advisory lock.

import { StoreUnavailableError, type Store } from '../store.ts';
import { PostgresApiTokens } from './api-tokens.ts';
import { PostgresAttestations } from './attestations.ts';
import { PostgresAudit } from './audit.ts';
import { PostgresChallenges } from './challenges.ts';
import { PostgresKbsSessions } from './kbs-sessions.ts';
import { PostgresCollateral } from './collateral.ts';
import { PostgresConfigEpoch } from './config-epoch.ts';
import { openPool, postgresTarget, redactSecrets, type PostgresTarget } from './connect.ts';
import { Database } from './database.ts';
import { migratePostgres } from './migrate.ts';
import { PostgresPolicies, PostgresReferenceValues } from './policies.ts';
import { PostgresRateLimits } from './rate-limits.ts';
import { PostgresSealedRecords } from './sealed-records.ts';
import { PostgresSecrets } from './secrets.ts';
import { PostgresServerSecrets, PostgresSigningKeys } from './signing-keys.ts';

export { isPostgresUrl, redactUrl } from './connect.ts';

export interface PostgresOpenOptions {
  /** Connections in this process's pool (default: ?pool=N in the URL, else DEFAULT_POOL_SIZE). */
  poolSize?: number;
  /** Apply no migration (offline tools that must not write). */
  readonly?: boolean;
  /** Refuse a database without tessera's tables (operator commands: a wrong URL must not make a new service). */
  mustExist?: boolean;
  /** Told (already redacted) when an idle connection was lost; the pool opens a new one when needed. */
  onConnectionError?: (message: string) => void;
}

/** The PostgreSQL store, with what only this engine has (tests, `db copy`, the vendor flight). */
export interface PostgresStore extends Store {
  readonly engine: 'postgres';
  readonly target: PostgresTarget;
  readonly database: Database;
  readonly collateral: PostgresCollateral;
  /** Migrations applied when this store opened (0 when another replica or an earlier start had). */
  readonly migrationsApplied: number;
}

/** Thrown when `mustExist` and the database has no tessera tables. */
export class NoPostgresSchemaError extends Error {
  constructor(redacted: string) {
    super(`no tessera database at ${redacted} (run \`tessera db migrate --database URL\` or start the service on it first)`);
    this.name = 'NoPostgresSchemaError';
  }
}

/** Open the pool to `url` and bring the schema up to date (under the migration lock). */
export async function openPostgresStore(url: string, options: PostgresOpenOptions = {}): Promise<PostgresStore> {
  const target = postgresTarget(url, options.poolSize);
  const pool = openPool(target, (err) => options.onConnectionError?.(`lost an idle connection to ${target.redacted}: ${redactSecrets(err.message, target.url)}`));
  const pg = new Database(pool, target.url);
  let migrationsApplied = 0;
  try {
    if (options.mustExist || options.readonly) {
      const { rows } = await pg.run(() => pool.query<{ t: string | null }>(`SELECT to_regclass('audit_log')::text AS t`));
      if (rows[0]?.t === null || rows[0]?.t === undefined) throw new NoPostgresSchemaError(target.redacted);
    }
    if (!options.readonly) migrationsApplied = await migratePostgres(pg);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  const attestations = new PostgresAttestations(pg);
  let closed = false;
  return {
    engine: 'postgres',
    target,
    database: pg,
    migrationsApplied,
    challenges: new PostgresChallenges(pg),
    attestations,
    audit: new PostgresAudit(pg),
    apiTokens: new PostgresApiTokens(pg),
    signingKeys: new PostgresSigningKeys(pg),
    serverSecrets: new PostgresServerSecrets(pg),
    sealedRecords: new PostgresSealedRecords(pg),
    policies: new PostgresPolicies(pg),
    referenceValues: new PostgresReferenceValues(pg),
    secrets: new PostgresSecrets(pg),
    collateral: new PostgresCollateral(pg),
    configEpoch: new PostgresConfigEpoch(pg),
    rateLimits: new PostgresRateLimits(pg),
    kbsSessions: new PostgresKbsSessions(pg),
    async ping() {
      if (closed) throw new StoreUnavailableError('the PostgreSQL store is closed');
      await pg.run(() => pool.query('SELECT 1'));
    },
    async close() {
      if (closed) return;
      closed = true;
      // Write what is queued (nobody queued is dropped), then end the pool.
      await attestations.drain();
      await pool.end();
    },
  };
}

/** The store as the PostgreSQL engine, for what only it has; throws on another engine. */
export function asPostgresStore(store: Store): PostgresStore {
  if (store.engine !== 'postgres') throw new Error(`this needs the PostgreSQL engine, not ${store.engine}`);
  return store as PostgresStore;
}
