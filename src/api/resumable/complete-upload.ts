import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/database.ts';
import { claimIdempotencyKey } from '../../db/jobs/idempotency.ts';
import { TallyError } from '../../errors.ts';
import type { StagedFile, Staging, StoredFiles } from '../../files/stored-files.ts';
import { enqueueAnalysis } from '../../job-lifecycle/enqueue-analysis.ts';
import { sniffUpload } from '../upload/sniff-upload.ts';
import {
  deleteResumableUpload,
  markCompleted,
  type ResumableUpload,
} from '../../db/jobs/resumable-uploads.ts';
import { parseOptions } from './tus-protocol.ts';

export interface CompletedUpload {
  jobId: string;
  /** false when the upload's idempotencyKey matched an earlier job (its own bytes were discarded). */
  created: boolean;
}

/**
 * The PATCH that wrote the last byte: the upload becomes a job exactly as a 202 of
 * POST /api/jobs makes one (docs/reference.md, "`/api/uploads` — resumable") — the same check of the head (422 instead of a
 * job, and the upload is gone), then ONE transaction: the idempotency key, the job row
 * adopting the staged bytes, the queue entry, and this row marked completed. A job exists
 * exactly when the client is told its id.
 */
export async function completeUpload(
  deps: { db: Db; boss: PgBoss; files: StoredFiles },
  upload: ResumableUpload,
  staging: Staging,
  requestId: string,
): Promise<CompletedUpload> {
  let file: StagedFile;
  let sniffed: Awaited<ReturnType<typeof sniffUpload>>;
  const options = parseOptions(upload.optionsText);
  try {
    file = await staging.finish();
    sniffed = await sniffUpload(file.head, options);
  } catch (error) {
    await forget(deps.db, upload.id, staging);
    throw error;
  }
  let outcome: CompletedUpload;
  try {
    outcome = await deps.db.kysely.transaction().execute(async (trx) => {
      if (upload.idempotencyKey !== null) {
        const holder = await claimIdempotencyKey(trx, upload.owner, upload.idempotencyKey, upload.id);
        if (holder !== undefined) {
          if (holder.sha256 !== file.sha256) throw keyReused(holder.jobId);
          await markCompleted(trx, upload.id, holder.jobId, file.bytes);
          return { jobId: holder.jobId, created: false };
        }
      }
      const adopted = await deps.files.adopt(trx, file, {
        id: upload.id,
        owner: upload.owner,
        filename: upload.filename,
        bytes: file.bytes,
        sha256: file.sha256,
        crc32: file.crc32,
        compression: sniffed.compression,
        options,
        delimiter: sniffed.delimiter,
      });
      if (!adopted) {
        throw new TallyError(
          'SERVICE_UNAVAILABLE',
          'The upload was interrupted on the server (its partial file was cleaned up); send it again.',
        );
      }
      // Through the one way into the queue: owners take turns, and WORKER_MAX_RUNNING_PER_OWNER
      // caps resumable uploads' jobs too (a bare send gave them neither priority nor group).
      await enqueueAnalysis(trx, deps.boss, {
        jobId: upload.id,
        owner: upload.owner,
        requestId,
        othersInFlight: adopted.othersInFlight,
      });
      await markCompleted(trx, upload.id, upload.id, file.bytes);
      return { jobId: upload.id, created: true };
    });
  } catch (error) {
    await forget(deps.db, upload.id, staging);
    throw error;
  }
  if (!outcome.created) await staging.discard(); // a duplicate: the earlier job has these bytes
  return outcome;
}

/** A refused completion: no job, so neither bytes nor the upload remain (a HEAD is then 404). */
async function forget(db: Db, id: string, staging: Staging): Promise<void> {
  await staging.discard();
  await deleteResumableUpload(db.kysely, id).catch(() => undefined); // expiry takes it otherwise
}

function keyReused(jobId: string): TallyError {
  return new TallyError(
    'IDEMPOTENCY_KEY_REUSED',
    `This Idempotency-Key was already used for another file (job ${jobId}). Use a new key for a different file, or resend the same file to get that job back.`,
    { jobId },
  );
}
