// What the operator commands (keys, tokens, audit) share: find the data directory from
// --config/--data (and the environment, like `tessera serve`), and open its store.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, type ServiceConfig } from '../config.ts';
import { DEV_KEK_FILE, KekError, loadKek } from '../crypto/kek.ts';
import { NoStoreError, openStore, storeLocation } from '../storage/open.ts';
import type { Store } from '../storage/store.ts';
import { CliError } from './errors.ts';

export interface DataOptions {
  config?: string;
  data?: string;
  database?: string;
}

export function operatorConfig(opts: DataOptions): ServiceConfig {
  try {
    return loadConfig({
      ...(opts.config ? { file: opts.config } : {}),
      overrides: { ...(opts.data !== undefined ? { dataDir: opts.data } : {}), ...(opts.database !== undefined ? { database: opts.database } : {}) },
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}

/** Open an existing store (never creates one: a typo must not make a new service). */
export async function openExisting(config: ServiceConfig, readonly = false): Promise<Store> {
  try {
    return await openStore(config, { mustExist: true, readonly });
  } catch (err) {
    if (err instanceof NoStoreError) throw new CliError(err.message);
    throw new CliError(`cannot open the database in ${storeLocation(config)}: ${(err as Error).message}`);
  }
}

/** The KEK as `tessera serve` would find it (a development data directory keeps its own file). */
export function operatorKek(config: ServiceConfig): Buffer {
  try {
    const devFile = existsSync(join(config.dataDir, DEV_KEK_FILE));
    return loadKek({ dataDir: config.dataDir, dev: config.dev || devFile, ...(config.kekFile ? { kekFile: config.kekFile } : {}) }).key;
  } catch (err) {
    if (err instanceof KekError) throw new CliError(err.message);
    throw err;
  }
}

export function withDataOptions<T extends { option(flags: string, description: string): T }>(cmd: T): T {
  return cmd
    .option('--config <file>', 'YAML or JSON configuration file')
    .option('--data <dir>', 'data directory; default ./data')
    .option('--database <url>', 'PostgreSQL database (postgres://user@host:5432/db) instead of SQLite in --data; env TESSERA_DATABASE_URL');
}
