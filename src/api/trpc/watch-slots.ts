import { TallyError } from '../../errors.ts';

/**
 * Counts the `jobs.watch` streams this process holds, per owner and in all: the sibling of
 * the long polls' bounds (src/api/long-poll-slots.ts), with its own limits because a stream
 * is held for a job's whole run (minutes), where a long poll is held for at most 25 s.
 * Each open stream is a socket, a LISTEN waiter, a suspended generator and tRPC's stream
 * pipeline: 1,000 idle streams on one job took an API process from 156 to 296 MiB RSS
 * (~140 KB each, about 3× a long poll) and 3.8 % of one core for their pings (2026-12-03,
 * 2 shared vCPUs; the defaults' 8,000 would be ~1.1 GiB).
 *
 * Past the owner's bound: 429 (that owner asks too much; the client falls back to long
 * polls, which have their own bound). Past the total: 503 (this process is full).
 */
export class WatchSlots {
  #total = 0;
  readonly #byOwner = new Map<string, number>();

  constructor(private readonly limits: { perOwner: number; total: number }) {}

  get held(): number {
    return this.#total;
  }

  /** Takes a slot for `owner` or throws; the returned function gives it back (idempotent). */
  acquire(owner: string): () => void {
    const mine = this.#byOwner.get(owner) ?? 0;
    if (mine >= this.limits.perOwner) {
      throw new TallyError(
        'RATE_LIMITED',
        `This token already has ${mine} status streams open (WATCH_STREAMS_PER_OWNER=${this.limits.perOwner}); ` +
          'close one, or poll jobs.status instead.',
        undefined,
        { retryAfterSeconds: 1 },
      );
    }
    if (this.#total >= this.limits.total) {
      throw new TallyError(
        'SERVICE_UNAVAILABLE',
        `The server is holding as many status streams as it allows (WATCH_STREAMS_MAX=${this.limits.total}); retry shortly.`,
        undefined,
        { retryAfterSeconds: 2 },
      );
    }
    this.#total++;
    this.#byOwner.set(owner, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#byOwner.get(owner) ?? 1) - 1;
      if (left === 0) this.#byOwner.delete(owner);
      else this.#byOwner.set(owner, left);
    };
  }
}
