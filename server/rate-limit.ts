// Per-client-address rate limits (fixed windows) for the unauthenticated endpoints that cost
// the most (challenge and attest) and for refused API-token authentications (each one an
// audit entry). Kept in memory per replica: a limit is a protection, not
// a correctness property, so replicas need not share it (N replicas allow N times the rate).

export interface RateDecision {
  allowed: boolean;
  /** The first refusal of this window for this address (what is worth recording once). */
  firstRefusal: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private lastSweep = 0;

  constructor(private readonly windowMs: number) {}

  /** Count one request of `bucket` from `address` against `limit` per window (0 = unlimited). */
  take(bucket: string, address: string, limit: number, now: number = Date.now()): RateDecision {
    if (limit <= 0) return { allowed: true, firstRefusal: false, limit, remaining: Number.MAX_SAFE_INTEGER, resetSeconds: 0 };
    this.sweep(now);
    const key = `${bucket}\0${address}`;
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    const resetSeconds = Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000));
    w.count += 1;
    if (w.count > limit) return { allowed: false, firstRefusal: w.count === limit + 1, limit, remaining: 0, resetSeconds };
    return { allowed: true, firstRefusal: false, limit, remaining: limit - w.count, resetSeconds };
  }

  /** Drop finished windows now and then, so memory follows the active clients only. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [key, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(key);
  }
}
