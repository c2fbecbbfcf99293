import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.ts';
import { findStrandedJobs, type StrandedJob } from '../db/jobs/find-stranded-jobs.ts';
import { giveUpJob } from '../db/jobs/give-up-job.ts';
import { requeueJob } from '../db/jobs/requeue-job.ts';
import type { Logger } from '../logger.ts';
import { enqueueAnalysis } from './enqueue-analysis.ts';

export interface RescuerOptions {
  /** Rows per transaction: a pass holds their row locks for one short transaction each. */
  batchSize: number;
  /** Attempts a job may have in all (JOB_RETRY_LIMIT + 1): past them, it is given up. */
  maxAttempts: number;
  /** Batches per pass at most, so one pass ends even if rows keep coming. */
  maxBatches: number;
}

export const defaultRescuerOptions = { batchSize: 100, maxBatches: 50 } as const;

export interface RescuePass {
  /** Jobs put back in the queue with a fresh entry. */
  requeued: string[];
  /** Jobs ended `failed` with RETRIES_EXHAUSTED. */
  failed: string[];
}

export interface Rescuer {
  /** One pass, now: maintenance calls it every period; tests call it directly. */
  runOnce(): Promise<RescuePass>;
}

/**
 * Every job finishes: every `queued` or `running` row has a live pg-boss entry (`created`,
 * `retry`, `active`), or this pass gives it one or a final state. River's rescuer is the
 * model: a periodic service that finds rows whose worker is gone, in batches.
 *
 * A row is stranded when pg-boss will not run it again (db/jobs/find-stranded-jobs.ts):
 * - its entry `failed`: pg-boss spent its retries (a worker died on the last attempt, so
 *   no handler wrote our final state) → `failed`, RETRIES_EXHAUSTED;
 * - its entry `completed`, `cancelled` or gone (deleted by hand or by retention; or, with
 *   a pg-boss that completed entries by id alone, completed by a superseded attempt while
 *   another ran) → back to `queued` with a fresh entry while it has attempts left, else
 *   `failed`. The re-queue clears the attempt token, so an attempt still alive is fenced.
 *
 * Each batch is one transaction: the rows are locked, changed and their entries sent
 * together, so a crash mid-pass leaves each row as it was or rescued, never half.
 */
export function createRescuer(deps: { db: Db; boss: PgBoss; log: Logger }, options: RescuerOptions): Rescuer {
  const rescueBatch = () =>
    deps.db.kysely.transaction().execute(async (trx) => {
      const pass: RescuePass & { seen: number } = { requeued: [], failed: [], seen: 0 };
      const stranded = await findStrandedJobs(trx, options.batchSize);
      pass.seen = stranded.length;
      for (const job of stranded) {
        if (mayRunAgain(job, options.maxAttempts)) {
          if (await requeueJob(trx, job.id)) {
            await enqueueAnalysis(trx, deps.boss, { jobId: job.id, owner: job.owner, replace: true });
            pass.requeued.push(job.id);
          }
        } else if (await giveUpJob(trx, job.id)) {
          pass.failed.push(job.id);
        }
      }
      return pass;
    });

  return {
    async runOnce() {
      const total: RescuePass = { requeued: [], failed: [] };
      for (let batch = 0; batch < options.maxBatches; batch++) {
        const pass = await rescueBatch();
        total.requeued.push(...pass.requeued);
        total.failed.push(...pass.failed);
        if (pass.seen < options.batchSize) break;
      }
      for (const jobId of total.requeued)
        deps.log.warn({ jobId }, 'job had no live queue entry; queued again');
      for (const jobId of total.failed)
        deps.log.warn({ jobId }, 'job given up by the queue after its last attempt; marked failed');
      return total;
    },
  };
}

/**
 * pg-boss's `failed` means it spent the retries itself; anything else counts our attempts.
 * A fresh entry starts pg-boss's retry count at 0 again, so `attempts` (every start, kept
 * across entries) is what bounds a job that keeps losing its entry: at most maxAttempts
 * rescues, each followed by at least one start.
 */
function mayRunAgain(job: StrandedJob, maxAttempts: number): boolean {
  return job.entry_state !== 'failed' && job.attempts < maxAttempts;
}
