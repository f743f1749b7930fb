// Per-client-address rate limits (fixed windows) for the unauthenticated endpoints that cost
// the most (challenge and attest) and for refused API-token authentications (each one an
// audit entry). Counted by the store (RateLimitStorage, server/storage/store.ts): an engine
// shared by replicas can bound the whole deployment; the in-memory counter below serves one
// process (the SQLite engine).

export interface RateDecision {
  allowed: boolean;
  /** The first refusal of this window for this address (what is worth recording once). */
  firstRefusal: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

/** The answer when `limit` is 0 (unlimited). */
export const UNLIMITED = (limit: number): RateDecision => ({ allowed: true, firstRefusal: false, limit, remaining: Number.MAX_SAFE_INTEGER, resetSeconds: 0 });

/** What a window holding `count` requests (this one included) and starting at `start` answers at `now`. */
export function rateDecision(count: number, start: number, limit: number, windowMs: number, now: number): RateDecision {
  const resetSeconds = Math.max(1, Math.ceil((start + windowMs - now) / 1000));
  if (count > limit) return { allowed: false, firstRefusal: count === limit + 1, limit, remaining: 0, resetSeconds };
  return { allowed: true, firstRefusal: false, limit, remaining: limit - count, resetSeconds };
}

/** Fixed windows in this process's memory. */
export class MemoryRateLimiter {
  private readonly windows = new Map<string, { start: number; count: number; windowMs: number }>();
  private lastSweep = 0;
  private longestWindow = 0;

  /** Count one request of `bucket` from `address` against `limit` per `windowMs` (0 = unlimited). */
  take(bucket: string, address: string, limit: number, windowMs: number, now: number = Date.now()): RateDecision {
    if (limit <= 0) return UNLIMITED(limit);
    this.longestWindow = Math.max(this.longestWindow, windowMs);
    this.sweep(now);
    const key = `${bucket}\0${address}`;
    let w = this.windows.get(key);
    if (!w || now - w.start >= windowMs) {
      w = { start: now, count: 0, windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return rateDecision(w.count, w.start, limit, windowMs, now);
  }

  /** Drop finished windows now and then, so memory follows the active clients only. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.longestWindow) return;
    this.lastSweep = now;
    for (const [key, w] of this.windows) if (now - w.start >= w.windowMs) this.windows.delete(key);
  }
}
