// Rate limits counted in PostgreSQL: one row per bucket and address, updated by one atomic
// upsert, so `rateLimit.*` bounds the deployment, not each replica. Fixed windows, judged at
// each replica's clock (replicas keep their clocks in step with NTP). Finished windows are
// swept now and then, so the table follows the active clients only.

import { rateDecision, UNLIMITED, type RateDecision } from '../../rate-limit.ts';
import type { RateLimitStorage } from '../store.ts';
import type { Database } from './database.ts';

const TAKE = {
  name: 'tessera_rate_take',
  text: `INSERT INTO rate_limit_windows AS w (bucket, address, window_start, count) VALUES ($1, $2, $3, 1)
         ON CONFLICT (bucket, address) DO UPDATE SET
           window_start = CASE WHEN $3 - w.window_start >= $4 THEN $3 ELSE w.window_start END,
           count = CASE WHEN $3 - w.window_start >= $4 THEN 1 ELSE LEAST(w.count + 1, 2000000000) END
         RETURNING window_start, count`,
};

export class PostgresRateLimits implements RateLimitStorage {
  private lastSweep = 0;
  private longestWindow = 0;

  constructor(private readonly pg: Database) {}

  async take(bucket: string, address: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    if (limit <= 0) return UNLIMITED(limit);
    this.longestWindow = Math.max(this.longestWindow, windowMs);
    if (now - this.lastSweep >= this.longestWindow) {
      this.lastSweep = now;
      await this.pg.run(() => this.pg.pool.query('DELETE FROM rate_limit_windows WHERE window_start < $1', [now - this.longestWindow]));
    }
    const { rows } = await this.pg.run(() => this.pg.pool.query<{ window_start: string; count: number }>({ ...TAKE, values: [bucket, address, now, windowMs] }));
    const row = rows[0]!;
    return rateDecision(row.count, Number(row.window_start), limit, windowMs, now);
  }
}
