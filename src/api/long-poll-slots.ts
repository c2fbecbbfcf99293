import { OwnerSlots } from './owner-slots.ts';

/**
 * Counts the long polls this process holds, per owner and in all, and refuses one past
 * either bound. Each waiting long poll holds a socket (a file descriptor) and ~50 KB of
 * memory; one owner's 20,000 waits once took the process to 1.1 GB and its descriptor
 * limit, so that every other owner's requests were reset.
 */
export class LongPollSlots extends OwnerSlots {
  constructor(limits: { perOwner: number; total: number }) {
    super(limits, {
      ownerHolds: (_mine, perOwner) =>
        `long polls waiting (LONG_POLLS_PER_OWNER=${perOwner}); wait for one to answer, or ask without waitMs.`,
      processFull: (total) =>
        `The server is holding as many long polls as it allows (LONG_POLLS_MAX=${total}); retry shortly.`,
    });
  }
}
