import type { PgBoss } from 'pg-boss';
import type { JobOptions } from '../../analysis/options.ts';
import type { Db } from '../../db/database.ts';
import type { StoredFiles } from '../../files/stored-files.ts';
import { createJob, type CreatedJob } from '../../job-lifecycle/create-job.ts';
import type { ReceivedUpload } from './receive-upload.ts';
import type { SniffResult } from './sniff-upload.ts';

export type RecordedUpload = CreatedJob;

/**
 * A received upload as a job: translates what the upload route learned (the received
 * file, the sniffed head) into the plain fields job-lifecycle/create-job.ts takes. The
 * transaction and its guarantees are there; the store adopts the staged bytes in it.
 */
export function recordUpload(
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
  const { file } = input.received;
  const job = {
    id: input.jobId,
    owner: input.owner,
    filename: input.received.filename,
    bytes: file.bytes,
    sha256: file.sha256,
    crc32: file.crc32,
    compression: input.sniffed.compression,
    options: input.options,
    delimiter: input.sniffed.delimiter,
  };
  return createJob(deps, {
    job,
    adoption: deps.files.adoption(file, job),
    idempotencyKey: input.idempotencyKey,
    requestId: input.requestId,
  });
}
