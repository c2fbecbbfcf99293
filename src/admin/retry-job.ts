import { fromKysely, type PgBoss } from 'pg-boss';
import type { Db } from '../db/database.ts';
import { TallyError } from '../errors.ts';
import { ANALYSIS_QUEUE, type AnalysisJobData } from '../queue/boss.ts';
import { fairShareSendOptions } from '../queue/fair-share.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Why a retry was refused: `details.reason` of the TallyError retryJob throws. */
export type RetryRefusal = 'NOT_FOUND' | 'NOT_FAILED' | 'FILE_DELETED';

function refused(reason: RetryRefusal, message: string): TallyError {
  return new TallyError(reason === 'NOT_FOUND' ? 'NOT_FOUND' : 'PRECONDITION_FAILED', message, { reason });
}

/** The reason of a refusal thrown by retryJob, or undefined for any other error. */
export function retryRefusal(error: unknown): RetryRefusal | undefined {
  if (!(error instanceof TallyError)) return undefined;
  const reason = (error.details as { reason?: RetryRefusal } | undefined)?.reason;
  return reason;
}

/**
 * Puts a failed job back in the queue, for an operator who fixed the cause (a bug, an
 * outage) and wants the job run again. In ONE transaction, as an upload does: our row
 * goes back to `queued` with its error and timings cleared, pg-boss's old entry for the
 * id (completed: the handler returned after failing the row, or already gone after
 * retention) is deleted, and a fresh entry is sent under the same id. Either both the
 * row and the queue change, or neither does.
 *
 * Through pg-boss's API rather than SQL on its tables: pg-boss keeps cached per-queue
 * counts and partitions that a hand-written INSERT would bypass. `attempts` keeps
 * counting, so the row shows that it ran before.
 */
export async function retryJob(db: Db, boss: PgBoss, jobId: string): Promise<void> {
  if (!UUID.test(jobId)) throw refused('NOT_FOUND', `"${jobId}" is not a job id.`);
  await db.kysely.transaction().execute(async (trx) => {
    const reset = await trx
      .updateTable('jobs')
      .set({
        state: 'queued',
        error_code: null,
        error_message: null,
        error_details: null,
        result: null,
        attempt_token: null,
        started_at: null,
        finished_at: null,
        bytes_processed: 0,
        rows_processed: 0,
      })
      .where('id', '=', jobId)
      .where('state', '=', 'failed')
      .where('file_deleted_at', 'is', null)
      .returning(['id', 'owner'])
      .executeTakeFirst();
    if (!reset) {
      const job = await trx
        .selectFrom('jobs')
        .select(['state', 'file_deleted_at'])
        .where('id', '=', jobId)
        .executeTakeFirst();
      if (!job) throw refused('NOT_FOUND', `No job ${jobId}.`);
      if (job.state !== 'failed')
        throw refused('NOT_FAILED', `Job ${jobId} is ${job.state}; only failed jobs are retried.`);
      throw refused(
        'FILE_DELETED',
        `Job ${jobId}'s file was deleted by retention (FILE_RETENTION_HOURS); upload it again.`,
      );
    }
    const conn = { db: fromKysely(trx) };
    await boss.deleteJob(ANALYSIS_QUEUE, jobId, conn);
    const data: AnalysisJobData = { jobId };
    await boss.send(ANALYSIS_QUEUE, data, {
      id: jobId,
      ...(await fairShareSendOptions(trx, reset.owner)),
      ...conn,
    });
  });
}
