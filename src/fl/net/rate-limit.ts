// Requests per client token: a token bucket (capacity = the per-minute rate, refilled continuously
// at rate/60 per second), so a client may burst up to a minute's allowance and no further.
export class RateLimiter {
  readonly #buckets = new Map<number, { tokens: number; at: number }>();
  readonly #capacity: number;
  readonly #perMs: number;

  constructor(requestsPerMinute: number) {
    this.#capacity = Math.max(1, requestsPerMinute);
    this.#perMs = requestsPerMinute / 60_000;
  }

  /** Takes one request's token; returns 0 when allowed, else the seconds until one is available. */
  take(key: number, now = Date.now()): number {
    const b = this.#buckets.get(key) ?? { tokens: this.#capacity, at: now };
    b.tokens = Math.min(this.#capacity, b.tokens + (now - b.at) * this.#perMs);
    b.at = now;
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.#perMs / 1000);
  }
}
