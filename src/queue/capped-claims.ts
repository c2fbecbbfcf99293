import type { QueryResult } from 'pg';
import type { BossStatement, ClaimExtension, InTransaction } from './claim-extension.ts';

/** The advisory lock a capped queue's claims take turns on (hashed to a bigint in SQL). */
export const claimLockKey = (queue: string) => `tally-claim:${queue}`;

/**
 * A queue's claims under a per-owner cap (WORKER_MAX_RUNNING_PER_OWNER, pg-boss's
 * `groupConcurrency`), one at a time across every process. pg-boss counts an owner's
 * running entries in the claim's own snapshot, so two claims in flight at once could both see
 * room and each take one of the capped owner's entries (SKIP LOCKED hands them different
 * ones): test/queue/fair-share.test.ts saw A with two running jobs under a cap of 1 in one CI
 * run of 2026-12-05 (the two slots of one worker process, woken by two uploads' NOTIFYs).
 *
 * So a capped claim first waits for a transaction-scoped advisory lock of its queue, then
 * claims in a statement of its own: under READ COMMITTED that statement's snapshot is taken
 * after the lock was granted, when the claim before it has committed, and counts what that
 * one set running. Claims of a capped queue then queue up for each other (a few hundred
 * microseconds each); uncapped queues never take the lock.
 */
export class CappedClaims implements ClaimExtension {
  constructor(private readonly queue: string) {}

  run(claim: BossStatement, _execute: unknown, inTransaction: InTransaction): Promise<QueryResult> {
    return inTransaction(async (run) => {
      await run({
        text: 'select pg_advisory_xact_lock(hashtextextended($1, 0))',
        values: [claimLockKey(this.queue)],
      });
      return run(claim);
    });
  }
}
