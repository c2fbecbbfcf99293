import type { Kysely } from 'kysely';
import type { AttemptEnded } from '../db/jobs/finish-attempt.ts';
import { endAttempts, type FinalEnd } from '../db/jobs/end-attempts.ts';
import type { Database } from '../db/schema.ts';

interface Held {
  end: FinalEnd;
  resolve: (ended: AttemptEnded) => void;
  reject: (error: unknown) => void;
}

/**
 * The final writes of a claim's batch (worker/run-claimed-jobs.ts), held until every job
 * of the batch has come to its own and then sent in one statement (db/jobs/end-attempts.ts).
 * An attempt's write resolves only then, with what its own statement would have answered;
 * should the statement fail, every write of it fails, as each would have on its own.
 */
export class BatchEndings {
  readonly #held: Held[] = [];
  readonly #waiting = new Map<string, () => void>();
  /** Once sent, a later write (an attempt's retry-exhausted failure after a failed flush) goes alone. */
  #flushed = false;

  constructor(private readonly db: Kysely<Database>) {}

  /** Holds `end` for the batch's statement (flush); after it, sends `end` on its own. */
  add(end: FinalEnd): Promise<AttemptEnded> {
    if (this.#flushed) return endAttempts(this.db, [end]).then(([ended]) => ended!);
    const ended = new Promise<AttemptEnded>((resolve, reject) => this.#held.push({ end, resolve, reject }));
    this.#waiting.get(end.entry.id)?.();
    this.#waiting.delete(end.entry.id);
    return ended;
  }

  /** Resolves once the attempt of pg-boss entry `entryId` holds its final write here. */
  held(entryId: string): Promise<void> {
    if (this.#held.some((h) => h.end.entry.id === entryId)) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.set(entryId, resolve));
  }

  /** Sends the held writes in one statement and answers each. */
  async flush(): Promise<void> {
    this.#flushed = true;
    const held = this.#held.splice(0);
    this.#waiting.clear();
    if (held.length === 0) return;
    try {
      const ended = await endAttempts(
        this.db,
        held.map((h) => h.end),
      );
      held.forEach((h, i) => h.resolve(ended[i]!));
    } catch (error) {
      for (const h of held) h.reject(error);
    }
  }
}
