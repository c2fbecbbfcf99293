import type { Transaction } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.ts';
import { claimIdempotencyKey } from '../db/jobs/idempotency.ts';
import type { InsertedJob, NewJob } from '../db/jobs/insert-job.ts';
import type { Database } from '../db/schema.ts';
import { stagingLost } from '../db/jobs/staged-uploads.ts';
import { TallyError } from '../errors.ts';
import type { JobState } from '../jobs/job-states.ts';
import { enqueueAnalysis } from './enqueue-analysis.ts';

export interface CreatedJob {
  jobId: string;
  state: JobState;
  /** false when an Idempotency-Key matched an earlier job: nothing new was stored. */
  created: boolean;
}

/**
 * Inserts the job row as the owner of its bytes, in the job's transaction, and counts the
 * owner's other jobs in flight in the same statement; undefined when its bytes are gone (a
 * staging swept meanwhile) and no row was inserted. The store of bytes decides how
 * (StoredFiles.adopt, src/files/).
 */
export type InsertWithFile = (trx: Transaction<Database>, job: NewJob) => Promise<InsertedJob | undefined>;

/**
 * Makes a new job in ONE short transaction: the idempotency key, the job row with the
 * adoption of its bytes, and the queue entry commit together or not at all. A job
 * therefore exists exactly when the client is told so, and a worker never sees a job
 * without its file. The bytes were committed while they arrived; this transaction writes
 * a few hundred bytes whatever the file size.
 *
 * Plain fields, not the upload's types: any way of receiving bytes (a form post, a
 * resumable upload) makes its job here.
 */
export async function createJob(
  deps: { db: Db; boss: PgBoss },
  input: {
    job: NewJob;
    insertWithFile: InsertWithFile;
    idempotencyKey?: string | undefined;
    /** The request that made the job, carried to the worker's logs. */
    requestId?: string | undefined;
  },
): Promise<CreatedJob> {
  const { job } = input;
  return deps.db.kysely.transaction().execute(async (trx) => {
    if (input.idempotencyKey !== undefined) {
      const holder = await claimIdempotencyKey(trx, job.owner, input.idempotencyKey, job.id);
      if (holder !== undefined) {
        if (holder.sha256 !== job.sha256) throw keyReused(holder.jobId);
        return { jobId: holder.jobId, state: holder.state, created: false };
      }
    }
    // The sweep took the staging (its writer paused past the lease): no job with a hole.
    const inserted = await input.insertWithFile(trx, job);
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
