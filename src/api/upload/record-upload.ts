import type { PgBoss } from 'pg-boss';
import type { JobOptions } from '../../analysis/options.ts';
import type { Db } from '../../db/database.ts';
import { insertJob } from '../../db/jobs/insert-job.ts';
import { createJob, type CreatedJob } from '../../job-lifecycle/create-job.ts';
import type { ReceivedUpload } from './receive-upload.ts';
import type { SniffResult } from './sniff-upload.ts';

export type RecordedUpload = CreatedJob;

/**
 * A received upload as a job: translates what the upload route learned (the received
 * file, the sniffed head) into the plain fields job-lifecycle/create-job.ts takes. The
 * transaction and its guarantees are there.
 */
export function recordUpload(
  deps: { db: Db; boss: PgBoss },
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
  const { file } = input.received;
  const { unstaged } = file;
  return createJob(deps, {
    job: {
      id: input.jobId,
      owner: input.owner,
      filename: input.received.filename,
      bytes: file.bytes,
      sha256: file.sha256,
      compression: input.sniffed.compression,
      options: input.options,
      delimiter: input.sniffed.delimiter,
    },
    insertWithFile: (trx, job) =>
      insertJob(trx, job, unstaged === undefined ? { staged: true } : { staged: false, data: unstaged }),
    idempotencyKey: input.idempotencyKey,
    requestId: input.requestId,
  });
}
