import type { PgBoss } from 'pg-boss';
import { v7 as uuidv7 } from 'uuid';
import type { JobOptions } from '../analysis/options.ts';
import type { Db } from '../db/database.ts';
import { countRerunsInFlight } from '../db/jobs/count-reruns-in-flight.ts';
import { findRerunSource } from '../db/jobs/find-rerun-source.ts';
import { insertRerunJob } from '../db/jobs/insert-rerun-job.ts';
import { TallyError } from '../errors.ts';
import type { StoredFiles } from '../files/stored-files.ts';
import { enqueueAnalysis } from './enqueue-analysis.ts';

export interface RerunJob {
  jobId: string;
  state: 'queued';
  /** The job whose bytes were re-run. */
  rerunOf: string;
}

export interface RerunDeps {
  /** The upload pool: a re-run writes as an upload does, never on the requests' pool. */
  db: Db;
  boss: PgBoss;
  /** RERUN_MAX_IN_FLIGHT: the owner's re-runs queued or running at once; one more is 429. */
  maxInFlight: number;
  /** Where the bytes are: a re-run reuses the old job's (StoredFiles.reuse), never receives them. */
  files: StoredFiles;
}

/**
 * A new job from the bytes an earlier job stored, with other options (jobs.rerun): its own
 * id, state and history; the old job is not touched. In ONE transaction, as an upload:
 * the job row, its bytes and the queue entry commit together or not at all.
 *
 * Bounded: the owner's re-runs in flight are capped (RATE_LIMITED, 429, while the cap is
 * reached), and the caller counts the re-run against the owner's upload rate.
 *
 * Throws NOT_FOUND for an unknown job or another owner's (indistinguishable, as
 * everywhere), FILE_EXPIRED once retention deleted the bytes.
 */
export async function rerunJob(
  deps: RerunDeps,
  input: { owner: string; jobId: string; options: JobOptions },
): Promise<RerunJob> {
  const jobId = uuidv7();
  return deps.db.kysely.transaction().execute(async (trx) => {
    const old = await findRerunSource(trx, input.owner, input.jobId);
    if (!old) throw new TallyError('NOT_FOUND', 'No such job (or it belongs to someone else).');
    if (old.file_deleted_at !== null) throw fileExpired(old.file_deleted_at);
    const inFlight = await countRerunsInFlight(trx, input.owner);
    if (inFlight >= deps.maxInFlight) throw tooManyInFlight(deps.maxInFlight);
    await insertRerunJob(trx, { jobId, rerunOf: old.id, options: input.options });
    // FILE_MISSING (no bytes, though retention did not delete them) rolls it all back.
    await deps.files.reuse(trx, { jobId: old.id, bytes: old.bytes, sha256: old.sha256 }, jobId);
    await enqueueAnalysis(trx, deps.boss, { jobId, owner: input.owner });
    return { jobId, state: 'queued', rerunOf: old.id };
  });
}

function fileExpired(deletedAt: Date): TallyError {
  return new TallyError(
    'FILE_EXPIRED',
    'This job’s uploaded file has been deleted (files are kept for a limited time after a job ends), ' +
      'so it cannot be re-run. Upload the file again with the options you want.',
    { fileDeletedAt: deletedAt.toISOString() },
  );
}

// A re-run of a small file takes a few hundred milliseconds; 5 s lets the owner's running
// re-runs move on without a client hammering the cap.
const IN_FLIGHT_RETRY_AFTER_SECONDS = 5;

function tooManyInFlight(max: number): TallyError {
  return new TallyError(
    'RATE_LIMITED',
    `You have ${max} re-runs queued or running; wait for one to finish, then re-run again.`,
    { maxInFlight: max },
    { retryAfterSeconds: IN_FLIGHT_RETRY_AFTER_SECONDS },
  );
}
