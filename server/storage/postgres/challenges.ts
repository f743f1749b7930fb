// Consumed challenges on PostgreSQL: the nonce is the primary key, so of any number of
// replicas consuming one nonce, exactly one INSERT ... ON CONFLICT DO NOTHING inserts a row
// (a concurrent one waits on the uncommitted key, then does nothing): judged at commit.

import { lt } from 'drizzle-orm';
import type pg from 'pg';
import { challengeExpiredAtCommit, challengeReplayed } from '../../challenge.ts';
import type { ChallengeStorage, ChallengeUse } from '../store.ts';
import type { Database } from './database.ts';
import { consumedChallenges } from './schema/challenges.ts';

/**
 * Consume the challenges of `uses` in one statement inside the caller's transaction, judged at
 * `now`; returns the nonces this statement consumed (the others were consumed already).
 * Nonces are inserted in sorted order, so two batches sharing nonces lock them in one order
 * and cannot deadlock.
 */
export async function consumeManyIn(client: pg.PoolClient, uses: readonly ChallengeUse[], now: number): Promise<Set<string>> {
  const sorted = [...uses].sort((a, b) => (a.nonce < b.nonce ? -1 : a.nonce > b.nonce ? 1 : 0));
  const { rows } = await client.query<{ nonce: string }>({
    name: 'tessera_consume',
    text: `INSERT INTO consumed_challenges (nonce, consumed_at, expires_at)
           SELECT n, $2::bigint, e FROM unnest($1::text[], $3::bigint[]) AS u(n, e)
           ON CONFLICT (nonce) DO NOTHING RETURNING nonce`,
    values: [sorted.map((u) => u.nonce), now, sorted.map((u) => u.expiresAt)],
  });
  return new Set(rows.map((r) => r.nonce));
}

export class PostgresChallenges implements ChallengeStorage {
  constructor(private readonly pg: Database) {}

  async isConsumed(nonce: string): Promise<boolean> {
    // On every attestation: a named (server-side prepared) statement, no query building.
    const { rowCount } = await this.pg.run(() => this.pg.pool.query({ name: 'tessera_is_consumed', text: 'SELECT 1 FROM consumed_challenges WHERE nonce = $1', values: [nonce] }));
    return (rowCount ?? 0) > 0;
  }

  consume(use: ChallengeUse): Promise<void> {
    return this.pg.tx(async ({ client }) => {
      const now = Date.now();
      if (now >= use.expiresAt) throw challengeExpiredAtCommit(use.expiresAt);
      if (!(await consumeManyIn(client, [use], now)).has(use.nonce)) throw challengeReplayed();
    });
  }

  async prune(now: number): Promise<number> {
    const rows = await this.pg.run((db) => db.delete(consumedChallenges).where(lt(consumedChallenges.expiresAt, now)).returning({ n: consumedChallenges.nonce }));
    return rows.length;
  }
}
