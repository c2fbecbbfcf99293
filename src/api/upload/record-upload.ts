import { fromKysely, type PgBoss } from 'pg-boss';
import type { JobOptions } from '../../analysis/options.ts';
import { claimIdempotencyKey } from '../../db/jobs/idempotency.ts';
import { stagingLost } from '../../db/jobs/staged-uploads.ts';
import type { Db } from '../../db/database.ts';
import type { JobState } from '../../db/schema.ts';
import { TallyError } from '../../errors.ts';
import type { StoredFiles } from '../../files/stored-files.ts';
import { ANALYSIS_QUEUE, type AnalysisJobData } from '../../queue/boss.ts';
import { fairShareSendOptions } from '../../queue/fair-share.ts';
import type { ReceivedUpload } from './receive-upload.ts';
import type { SniffResult } from './sniff-upload.ts';

export interface RecordedUpload {
  jobId: string;
  state: JobState;
  /** false when an Idempotency-Key matched an earlier upload: nothing new was stored. */
  created: boolean;
}

/**
 * Makes a received upload a job in ONE short transaction: the idempotency key, the job row
 * with the adoption of its staged chunks (or its one chunk, for a small file), and the
 * pg-boss queue entry commit together or not at all. A job therefore exists exactly when
 * the client is told so, and a worker never sees a job without its file. The bytes were
 * committed while they arrived; this transaction writes a few hundred bytes whatever the
 * file size.
 */
export async function recordUpload(
  deps: { db: Db; boss: PgBoss; files: StoredFiles },
  input: {
    /** The staging's id: the job gets it. */
    jobId: string;
    owner: string;
    idempotencyKey: string | undefined;
    received: ReceivedUpload;
    sniffed: SniffResult;
    options: JobOptions;
    /** The upload request's id, carried to the worker's logs. */
    requestId?: string;
  },
): Promise<RecordedUpload> {
  const { jobId, received } = input;
  return deps.db.kysely.transaction().execute(async (trx) => {
    if (input.idempotencyKey !== undefined) {
      const holder = await claimIdempotencyKey(trx, input.owner, input.idempotencyKey, jobId);
      if (holder !== undefined) {
        if (holder.sha256 !== received.file.sha256) throw keyReused(holder.jobId);
        return { jobId: holder.jobId, state: holder.state, created: false };
      }
    }
    const inserted = await deps.files.adopt(trx, received.file, {
      id: jobId,
      owner: input.owner,
      filename: received.filename,
      bytes: received.file.bytes,
      sha256: received.file.sha256,
      compression: input.sniffed.compression,
      options: input.options,
      delimiter: input.sniffed.delimiter,
    });
    // The sweep took the staging (its writer paused past the lease): no job with a hole.
    if (!inserted) throw stagingLost();
    const data: AnalysisJobData = {
      jobId,
      ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    };
    // Same id in pg-boss as in our table, so admins can join the two.
    await deps.boss.send(ANALYSIS_QUEUE, data, {
      id: jobId,
      ...(await fairShareSendOptions(trx, input.owner)),
      db: fromKysely(trx),
    });
    return { jobId, state: 'queued', created: true };
  });
}

function keyReused(jobId: string): TallyError {
  return new TallyError(
    'IDEMPOTENCY_KEY_REUSED',
    `This Idempotency-Key was already used for another file (job ${jobId}). Use a new key for a different file, or resend the same file to get that job back.`,
    { jobId },
  );
}
