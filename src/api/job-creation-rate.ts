import { TallyError } from '../errors.ts';

/**
 * Jobs one owner may create per minute, whichever way: an upload (POST /api/jobs) and a
 * re-run (jobs.rerun) take from the same count, so a loop of re-runs of one stored file
 * is bounded like a loop of uploads (UPLOAD_RATE_LIMIT_PER_MINUTE).
 *
 * A fixed window per owner, counted after the caller is authenticated (an unauthenticated
 * request is refused before it could count). Windows that ended hold no information: at
 * 10,000 owners the expired ones are dropped, so the map stays bounded by the owners
 * active in one minute.
 */
export class JobCreationRate {
  readonly #windows = new Map<string, { count: number; endsAt: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Counts one new job for `owner`, or throws RATE_LIMITED with the seconds to wait. */
  take(owner: string): void {
    const now = this.now();
    let window = this.#windows.get(owner);
    if (!window || window.endsAt <= now) {
      if (!window && this.#windows.size >= 10_000) this.#forgetEnded(now);
      window = { count: 0, endsAt: now + 60_000 };
      this.#windows.set(owner, window);
    }
    if (window.count >= this.perMinute) {
      const seconds = Math.max(1, Math.ceil((window.endsAt - now) / 1000));
      throw new TallyError(
        'RATE_LIMITED',
        `Too many new jobs (uploads and re-runs, ${this.perMinute} a minute); try again in ${seconds} seconds.`,
        undefined,
        { retryAfterSeconds: seconds },
      );
    }
    window.count++;
  }

  #forgetEnded(now: number): void {
    for (const [owner, w] of this.#windows) if (w.endsAt <= now) this.#windows.delete(owner);
  }
}
