import { TallyError } from '../errors.ts';

/**
 * Counts the long polls this process holds, per owner and in all, and refuses one past
 * either bound. Each waiting long poll holds a socket (a file descriptor) and ~50 KB of
 * memory; issue 14 measured one owner's 20,000 waits taking the process to 1.1 GB and
 * its descriptor limit, so that every other owner's requests were reset.
 *
 * Past the owner's bound: 429 (that owner is asking for too much; the others are not
 * affected). Past the total: 503 (the process is full; another instance may not be).
 */
export class LongPollSlots {
  #total = 0;
  readonly #byOwner = new Map<string, number>();

  constructor(private readonly limits: { perOwner: number; total: number }) {}

  get held(): number {
    return this.#total;
  }

  /** Takes a slot for `owner` or throws; call the returned function exactly once to give it back. */
  acquire(owner: string): () => void {
    const mine = this.#byOwner.get(owner) ?? 0;
    if (mine >= this.limits.perOwner) {
      throw new TallyError(
        'RATE_LIMITED',
        `This token already has ${mine} long polls waiting (LONG_POLLS_PER_OWNER=${this.limits.perOwner}); ` +
          'wait for one to answer, or ask without waitMs.',
        undefined,
        { retryAfterSeconds: 1 },
      );
    }
    if (this.#total >= this.limits.total) {
      throw new TallyError(
        'SERVICE_UNAVAILABLE',
        `The server is holding as many long polls as it allows (LONG_POLLS_MAX=${this.limits.total}); retry shortly.`,
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
