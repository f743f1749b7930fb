// The configuration epoch on PostgreSQL: one bigint that plpgsql triggers move in the same
// transaction as any write to signing_keys, active_policy, policy_versions or
// reference_values (migrations/postgres/0002), whichever replica writes. Reading it is one
// primary-key read on every attestation (a prepared statement).

import type { ConfigEpochStorage } from '../store.ts';
import type { Database } from './database.ts';

const READ = { name: 'tessera_config_epoch', text: 'SELECT n FROM config_epoch WHERE id = 1' };

export class PostgresConfigEpoch implements ConfigEpochStorage {
  constructor(private readonly pg: Database) {}

  async read(): Promise<number | undefined> {
    const { rows } = await this.pg.run(() => this.pg.pool.query<{ n: string }>(READ));
    return rows[0] === undefined ? undefined : Number(rows[0].n);
  }
}
