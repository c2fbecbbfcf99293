import type { PgBoss } from 'pg-boss';
import { validate as isUuid } from 'uuid';
import type { Db } from '../db/database.ts';
import { findJobState } from '../db/jobs/find-job-state.ts';
import { resetFailedJob } from '../db/jobs/reset-failed-job.ts';
import { TallyError } from '../errors.ts';
import { enqueueAnalysis } from './enqueue-analysis.ts';

/** Why a retry was refused: `details.reason` of the TallyError retryFailedJob throws. */
export type RetryRefusal = 'NOT_FOUND' | 'NOT_FAILED' | 'FILE_DELETED';

function refused(reason: RetryRefusal, message: string): TallyError {
  return new TallyError(reason === 'NOT_FOUND' ? 'NOT_FOUND' : 'PRECONDITION_FAILED', message, { reason });
}

/** The reason of a refusal thrown by retryFailedJob, or undefined for any other error. */
export function retryRefusal(error: unknown): RetryRefusal | undefined {
  if (!(error instanceof TallyError)) return undefined;
  return (error.details as { reason?: RetryRefusal } | undefined)?.reason;
}

/**
 * Puts a failed job back in the queue, for an operator who fixed the cause (a bug, an
 * outage) and wants the job run again (`npm run admin -- retry <jobId>`). In ONE
 * transaction, as an upload does: the row goes back to `queued`, and pg-boss's old entry
 * for the id (completed: the handler returned after failing the row, or already gone
 * after retention) is replaced by a fresh one. Either both change, or neither does.
 */
export async function retryFailedJob(db: Db, boss: PgBoss, jobId: string): Promise<void> {
  if (!isUuid(jobId)) throw refused('NOT_FOUND', `"${jobId}" is not a job id.`);
  await db.kysely.transaction().execute(async (trx) => {
    const owner = await resetFailedJob(trx, jobId);
    if (owner === undefined) {
      const job = await findJobState(trx, jobId);
      if (!job) throw refused('NOT_FOUND', `No job ${jobId}.`);
      if (job.state !== 'failed')
        throw refused('NOT_FAILED', `Job ${jobId} is ${job.state}; only failed jobs are retried.`);
      throw refused(
        'FILE_DELETED',
        `Job ${jobId}'s file was deleted by retention (FILE_RETENTION_HOURS); upload it again.`,
      );
    }
    await enqueueAnalysis(trx, boss, { jobId, owner, replace: true });
  });
}
