import { TallyError } from '../errors.ts';

/** How many may be held per owner and in all. */
export interface OwnerSlotsOptions {
  perOwner: number;
  total: number;
}

/** What a refusal says: the held thing's name, and what the client can do instead. */
export interface SlotWords {
  /** e.g. "long polls waiting (LONG_POLLS_PER_OWNER=…)": completes "This token already has N …". */
  ownerHolds: (mine: number, perOwner: number) => string;
  /** The whole sentence for a full process. */
  processFull: (total: number) => string;
}

/**
 * Counts something a request holds open (a long poll, a status stream), per owner and in
 * all, and refuses one past either bound. Past the owner's bound: 429 (that owner is asking
 * for too much; the others are not affected). Past the total: 503 (the process is full;
 * another instance may not be).
 */
export class OwnerSlots {
  #total = 0;
  readonly #byOwner = new Map<string, number>();

  constructor(
    private readonly limits: OwnerSlotsOptions,
    private readonly words: SlotWords,
  ) {}

  get held(): number {
    return this.#total;
  }

  /** Takes a slot for `owner` or throws; the returned function gives it back (idempotent). */
  acquire(owner: string): () => void {
    const mine = this.#byOwner.get(owner) ?? 0;
    if (mine >= this.limits.perOwner) {
      throw new TallyError(
        'RATE_LIMITED',
        `This token already has ${mine} ${this.words.ownerHolds(mine, this.limits.perOwner)}`,
        undefined,
        { retryAfterSeconds: 1 },
      );
    }
    if (this.#total >= this.limits.total) {
      throw new TallyError('SERVICE_UNAVAILABLE', this.words.processFull(this.limits.total), undefined, {
        retryAfterSeconds: 2,
      });
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
