// Which engine holds the service's state: SQLite in the data directory (the default; the
// PostgreSQL engine is selected here by the `database` URL). Everything above this file sees
// only the Store of server/storage/store.ts.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceConfig } from '../config.ts';
import type { Store } from './store.ts';
import { DB_FILE, openSqliteStore } from './sqlite/index.ts';

export interface OpenStoreOptions {
  /** Open for reading only, apply no migration (offline tools that must not write). */
  readonly?: boolean;
  /** Refuse to create a new database (operator commands: a typo must not make a new service). */
  mustExist?: boolean;
}

/** Thrown by openStore when `mustExist` and there is no database where the configuration points. */
export class NoStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoStoreError';
  }
}

/** Open the configured store, creating and migrating it when needed (unless read-only or mustExist). */
export async function openStore(config: Pick<ServiceConfig, 'dataDir' | 'dbSynchronous'>, options: OpenStoreOptions = {}): Promise<Store> {
  if ((options.mustExist || options.readonly) && !existsSync(join(config.dataDir, DB_FILE))) {
    throw new NoStoreError(`no tessera database in ${config.dataDir} (use --data DIR)`);
  }
  return openSqliteStore(config.dataDir, { synchronous: config.dbSynchronous, ...(options.readonly ? { readonly: true } : {}) });
}
