// Which engine holds the service's state: SQLite in the data directory (the default; the
// PostgreSQL engine is selected here by the `database` URL). Everything above this file sees
// only the Store of server/storage/store.ts.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceConfig } from '../config.ts';
import type { Store } from './store.ts';
import type { CollateralSource } from '../../verifier/collateral/source.ts';
import { asPostgresStore, NoPostgresSchemaError, openPostgresStore, redactUrl } from './postgres/index.ts';
import { deploymentVendorFlight } from './postgres/vendor-flight.ts';
import { DB_FILE, openSqliteStore } from './sqlite/index.ts';

export interface OpenStoreOptions {
  /** Open for reading only, apply no migration (offline tools that must not write). */
  readonly?: boolean;
  /** Refuse to create a new database (operator commands: a typo must not make a new service). */
  mustExist?: boolean;
  /** Told (redacted) when the PostgreSQL engine loses an idle connection (it reconnects by itself). */
  onConnectionError?: (message: string) => void;
}

/** Thrown by openStore when `mustExist` and there is no database where the configuration points. */
export class NoStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoStoreError';
  }
}

/** Open the configured store, creating and migrating it when needed (unless read-only or mustExist). */
export async function openStore(config: Pick<ServiceConfig, 'dataDir' | 'dbSynchronous' | 'database'>, options: OpenStoreOptions = {}): Promise<Store> {
  if (config.database !== undefined) {
    try {
      return await openPostgresStore(config.database, {
        ...(options.readonly ? { readonly: true } : {}),
        ...(options.mustExist ? { mustExist: true } : {}),
        ...(options.onConnectionError ? { onConnectionError: options.onConnectionError } : {}),
      });
    } catch (err) {
      if (err instanceof NoPostgresSchemaError) throw new NoStoreError(err.message);
      throw err;
    }
  }
  if ((options.mustExist || options.readonly) && !existsSync(join(config.dataDir, DB_FILE))) {
    throw new NoStoreError(`no tessera database in ${config.dataDir} (use --data DIR)`);
  }
  return openSqliteStore(config.dataDir, { synchronous: config.dbSynchronous, ...(options.readonly ? { readonly: true } : {}) });
}

/** Where the configured store is, for messages: the data directory, or the database URL without its password. */
export function storeLocation(config: Pick<ServiceConfig, 'dataDir' | 'database'>): string {
  return config.database !== undefined ? redactUrl(config.database) : config.dataDir;
}

/**
 * The vendors as the configured store should be given them: on PostgreSQL, a cold document is
 * fetched once across every replica and new documents are counted deployment-wide
 * (postgres/vendor-flight.ts); on SQLite, `upstream` itself (the process's own flight and count).
 */
export function vendorsFor(store: Store, upstream: CollateralSource, maxNewDocumentsPerMinute: number): CollateralSource {
  if (store.engine !== 'postgres') return upstream;
  const pg = asPostgresStore(store);
  return deploymentVendorFlight(upstream, { collateral: pg.collateral, rateLimits: pg.rateLimits, maxNewDocumentsPerMinute });
}
