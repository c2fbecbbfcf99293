import { TallyError } from '../errors.ts';

/**
 * Requests per second per key (an owner, or an IP for requests without a valid token), as
 * a token bucket: `perSecond` sustained, bursts up to twice that. Hand-written rather than
 * a second @fastify/rate-limit: the upload route registers that plugin already (a second
 * registration collides on its decorators), and on the hottest route this costs one Map
 * lookup and a subtraction.
 */
export class OwnerRateLimit {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #burst: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#burst = perSecond * 2;
  }

  /** Counts one request for `key`, or throws RATE_LIMITED with the seconds to wait. */
  take(key: string): void {
    const now = this.now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= 10_000) this.#forgetFull(now);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
      bucket.at = now;
    }
    if (bucket.tokens < 1) {
      const seconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
      throw new TallyError(
        'RATE_LIMITED',
        `Too many requests for this token (TRPC_RATE_LIMIT_PER_SECOND=${this.perSecond}); slow down, or use long polls (waitMs) instead of polling quickly.`,
        undefined,
        { retryAfterSeconds: seconds },
      );
    }
    bucket.tokens -= 1;
  }

  /** Buckets that have refilled hold no information: drop them so the map stays small. */
  #forgetFull(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.#burst) this.#buckets.delete(key);
    }
  }
}
