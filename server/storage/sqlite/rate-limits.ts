// Rate limits of the SQLite engine: in this process's memory. Processes sharing one file
// count each their own: a limit is a protection, not a correctness property.

import { MemoryRateLimiter, type RateDecision } from '../../rate-limit.ts';
import type { RateLimitStorage } from '../store.ts';

export class SqliteRateLimits implements RateLimitStorage {
  private readonly memory = new MemoryRateLimiter();

  take(bucket: string, address: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    return Promise.resolve(this.memory.take(bucket, address, limit, windowMs, now));
  }
}
