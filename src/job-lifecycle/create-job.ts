import type { RawBuilder } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.ts';
import { claimIdempotencyKey } from '../db/jobs/idempotency.ts';
import { insertAdopting, type NewJob } from '../db/jobs/insert-job.ts';
import { insertJobWithEntry } from '../db/jobs/insert-job-with-entry.ts';
import { stagingLost } from '../db/jobs/staged-uploads.ts';
import { TallyError } from '../errors.ts';
import type { JobState } from '../jobs/job-states.ts';
import { ANALYSIS_QUEUE } from '../queue/boss.ts';
import { entryInsertOf } from '../queue/entry-insert.ts';
import { fairShareFor } from '../queue/fair-share.ts';
import { analysisEntry, enqueueAnalysis } from './enqueue-analysis.ts';

export interface CreatedJob {
  jobId: string;
  state: JobState;
  /** false when an Idempotency-Key matched an earlier job: nothing new was stored. */
  created: boolean;
}

/**
 * Makes a new job atomically: the idempotency key, the job row with the adoption of its
 * bytes (`adoption`, StoredFiles.adoption), and the queue entry commit together or not at
 * all. A job therefore exists exactly when the client is told so, and a worker never sees a
 * job without its file. The bytes were committed while they arrived; this writes a few
 * hundred bytes whatever the file size.
 *
 * Without an Idempotency-Key that is ONE statement (db/jobs/insert-job-with-entry.ts): one
 * round trip where a transaction took four. With a key, or should pg-boss's insert ever
 * take a shape that statement does not know, one short transaction.
 *
 * Plain fields, not the upload's types: any way of receiving bytes (a form post, a
 * resumable upload) makes its job here.
 */
export async function createJob(
  deps: { db: Db; boss: PgBoss },
  input: {
    job: NewJob;
    adoption: RawBuilder<unknown>;
    idempotencyKey?: string | undefined;
    /** The request that made the job, carried to the worker's logs. */
    requestId?: string | undefined;
  },
): Promise<CreatedJob> {
  const { job } = input;
  if (input.idempotencyKey === undefined) {
    // The turn's priority is counted by the statement itself (fairSharePriority): 0 here.
    const { data, options } = analysisEntry(
      { jobId: job.id, requestId: input.requestId },
      fairShareFor(job.owner, 0),
    );
    const entry = await entryInsertOf(deps.boss, ANALYSIS_QUEUE, data, options);
    if (entry !== undefined) {
      // The sweep took the staging (its writer paused past the lease): no job with a hole.
      if (!(await insertJobWithEntry(deps.db.kysely, job.owner, input.adoption, entry))) throw stagingLost();
      return { jobId: job.id, state: 'queued', created: true };
    }
  }
  return deps.db.kysely.transaction().execute(async (trx) => {
    if (input.idempotencyKey !== undefined) {
      const holder = await claimIdempotencyKey(trx, job.owner, input.idempotencyKey, job.id);
      if (holder !== undefined) {
        if (holder.sha256 !== job.sha256) throw keyReused(holder.jobId);
        return { jobId: holder.jobId, state: holder.state, created: false };
      }
    }
    const inserted = await insertAdopting(trx, job.owner, input.adoption);
    if (!inserted) throw stagingLost();
    await enqueueAnalysis(trx, deps.boss, {
      jobId: job.id,
      owner: job.owner,
      requestId: input.requestId,
      othersInFlight: inserted.othersInFlight,
    });
    return { jobId: job.id, state: 'queued', created: true };
  });
}

function keyReused(jobId: string): TallyError {
  return new TallyError(
    'IDEMPOTENCY_KEY_REUSED',
    `This Idempotency-Key was already used for another file (job ${jobId}). Use a new key for a different file, or resend the same file to get that job back.`,
    { jobId },
  );
}
