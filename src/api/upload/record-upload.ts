import { fromKysely, type PgBoss } from 'pg-boss';
import { v7 as uuidv7 } from 'uuid';
import type { JobOptions } from '../../analysis/options.ts';
import { storeFileChunks } from '../../db/jobs/file-chunks.ts';
import { claimIdempotencyKey } from '../../db/jobs/idempotency.ts';
import { insertJob } from '../../db/jobs/insert-job.ts';
import type { Db } from '../../db/database.ts';
import type { JobState } from '../../db/schema.ts';
import { ANALYSIS_QUEUE, type AnalysisJobData } from '../../queue/boss.ts';
import type { SniffResult } from './sniff-upload.ts';
import type { SpooledUpload } from './spool-upload.ts';

export interface RecordedUpload {
  jobId: string;
  state: JobState;
  /** false when an Idempotency-Key matched an earlier upload: nothing new was stored. */
  created: boolean;
}

/**
 * Makes a spooled upload a job in ONE transaction: the idempotency key, the job row, the
 * file's bytes and the pg-boss queue entry commit together or not at all. A job therefore
 * exists exactly when the client is told so, and a worker never sees a job without its file.
 */
export async function recordUpload(
  deps: { db: Db; boss: PgBoss },
  input: {
    owner: string;
    idempotencyKey: string | undefined;
    spooled: SpooledUpload;
    sniffed: SniffResult;
    options: JobOptions;
    /** The upload request's id, carried to the worker's logs. */
    requestId?: string;
  },
): Promise<RecordedUpload> {
  const jobId = uuidv7();
  return deps.db.kysely.transaction().execute(async (trx) => {
    if (input.idempotencyKey !== undefined) {
      const holder = await claimIdempotencyKey(trx, input.owner, input.idempotencyKey, jobId);
      if (holder !== undefined) {
        const job = await trx
          .selectFrom('jobs')
          .select('state')
          .where('id', '=', holder)
          .executeTakeFirstOrThrow();
        return { jobId: holder, state: job.state, created: false };
      }
    }
    await insertJob(trx, {
      id: jobId,
      owner: input.owner,
      filename: input.spooled.filename,
      bytes: input.spooled.bytes,
      sha256: input.spooled.sha256,
      compression: input.sniffed.compression,
      options: input.options,
      delimiter: input.sniffed.delimiter,
    });
    const { head, bytes } = input.spooled;
    await storeFileChunks(trx, jobId, input.spooled.path, head.length === bytes ? head : undefined);
    const data: AnalysisJobData = {
      jobId,
      ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    };
    // Same id in pg-boss as in our table, so admins can join the two.
    await deps.boss.send(ANALYSIS_QUEUE, data, { id: jobId, db: fromKysely(trx) });
    return { jobId, state: 'queued', created: true };
  });
}
