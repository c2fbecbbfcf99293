import net from 'node:net';
import { TallyError } from '../errors.ts';

/**
 * Buckets kept at most. One bucket is a Map entry plus a small object, ~150 bytes with the
 * key string, so the cap bounds the limiter at ~15 MB however many addresses call.
 */
export const MAX_RATE_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Calls per second per key (an owner, or an address for requests without a valid token),
 * as a token bucket: `perSecond` sustained, bursts up to twice that. Hand-written rather
 * than a second @fastify/rate-limit: the upload route registers that plugin already (a
 * second registration collides on its decorators), and on the hottest route this costs
 * one Map lookup and a subtraction.
 *
 * Memory is bounded: the Map is kept in least-recently-used order (a hit moves its key to
 * the end: delete + set, O(1)), and at `maxBuckets` the least recently used bucket is
 * dropped (O(1), the Map's first key). A dropped key starts again with a full bucket, so
 * the cost of the cap is at most one extra burst for a caller idle while `maxBuckets`
 * other keys called — never a refusal. (The old sweep scanned every bucket, O(n) per new
 * address, and kept the map unbounded while the buckets were not full.)
 */
export class OwnerRateLimit {
  readonly #buckets = new Map<string, Bucket>();
  readonly #burst: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly maxBuckets = MAX_RATE_BUCKETS,
  ) {
    this.#burst = perSecond * 2;
  }

  /** Buckets held now (tests and gauges). */
  get size(): number {
    return this.#buckets.size;
  }

  /** Counts `cost` calls for `key`, or throws RATE_LIMITED with the seconds to wait (and counts nothing). */
  take(key: string, cost = 1): void {
    const now = this.now();
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key); // re-inserted below: most recently used last
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
      bucket.at = now;
    } else {
      if (this.#buckets.size >= this.maxBuckets) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      bucket = { tokens: this.#burst, at: now };
    }
    this.#buckets.set(key, bucket);
    if (cost > this.#burst) {
      throw new TallyError(
        'RATE_LIMITED',
        `This request batches ${cost} calls, more than the ${this.#burst} a caller may make at once ` +
          `(twice TRPC_RATE_LIMIT_PER_SECOND=${this.perSecond}); send smaller batches.`,
        undefined,
        { retryAfterSeconds: 1 },
      );
    }
    if (bucket.tokens < cost) {
      const seconds = Math.max(1, Math.ceil((cost - bucket.tokens) / this.perSecond));
      throw new TallyError(
        'RATE_LIMITED',
        `Too many calls for this token (TRPC_RATE_LIMIT_PER_SECOND=${this.perSecond}; a batch of N calls counts N); slow down, or use long polls (waitMs) instead of polling quickly.`,
        undefined,
        { retryAfterSeconds: seconds },
      );
    }
    bucket.tokens -= cost;
  }
}

/**
 * How many procedure calls a tRPC request carries: a batch names them all in its path,
 * comma-separated (`/trpc/jobs.status,jobs.list?batch=1`). Read from the URL, so it costs
 * nothing before the body is parsed; Fastify's maxParamLength (1000) bounds the list.
 */
export function callsInRequest(url: string): number {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  let calls = 1;
  for (let i = path.lastIndexOf('/') + 1; i < path.length; i++) if (path.charCodeAt(i) === 44) calls++;
  return calls;
}

/**
 * The bucket key of a caller without a valid token. An IPv6 address is keyed by its /64:
 * one subscriber usually holds a whole /64 (2^64 addresses), so per-address buckets would
 * let it rotate past any limit (and fill the map). IPv4 (and IPv4-mapped) per address.
 */
export function rateKeyOfAddress(ip: string): string {
  if (net.isIPv6(ip) && !ip.toLowerCase().startsWith('::ffff:')) {
    return `ip6:${expandIpv6(ip).slice(0, 4).join(':')}::/64`;
  }
  return `ip:${ip}`;
}

function expandIpv6(ip: string): string[] {
  const [head = '', tail] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...zeros, ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}
