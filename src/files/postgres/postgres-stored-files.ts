import type { RawBuilder, Transaction } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Db } from '../../db/database.ts';
import { copyFileChunks } from '../../db/jobs/copy-file-chunks.ts';
import { jobAdoption, type NewJob } from '../../db/jobs/insert-job.ts';
import { stagedExtent, stagingLost, sweepStagedUploads } from '../../db/jobs/staged-uploads.ts';
import { sweepFinishedFiles } from '../../db/jobs/sweep-files.ts';
import type { Database } from '../../db/schema.ts';
import { TallyError } from '../../errors.ts';
import { thisProcess } from '../../lib/process-identity.ts';
import type { StageOptions, StagedFile, StoredFileRef, StoredFilesImplementation } from '../stored-files.ts';
import { PostgresStaging, type PostgresStagedFile } from './postgres-staging.ts';
import { readFileRange } from './read-file-range.ts';
import { readFileChunks } from './read-file-chunks.ts';
import { StagingBatches, type StagingLog } from './staging-batches.ts';
import { SuspendedDigests } from '../suspended-digests.ts';

/**
 * Uploaded bytes in PostgreSQL (FILE_STORE=postgres, the default): 1 MiB rows of
 * `job_file_chunks` keyed by the job's id, staged under the id before the job exists
 * (`staged_uploads`, migration 0003). Every statement is in db/jobs/; this class says which
 * runs when.
 */
export class PostgresStoredFiles implements StoredFilesImplementation {
  readonly kind = 'postgres' as const;
  private readonly digests = new SuspendedDigests();

  constructor(
    private readonly db: Db,
    private readonly stagingLeaseMs: number,
    private readonly log: StagingLog,
  ) {}

  stage(options: StageOptions = {}): PostgresStaging {
    const batches = new StagingBatches(this.db, this.stagingLeaseMs, options.log ?? this.log, {
      id: uuidv7(),
      chunks: 0,
      rowExists: false,
      keepUntil: options.keepUntil,
    });
    return new PostgresStaging(this.db, batches, this.digests);
  }

  async resume(id: string, options: StageOptions = {}): Promise<PostgresStaging> {
    const extent = await stagedExtent(this.db.kysely, id);
    if (!extent) throw stagingLost();
    const batches = new StagingBatches(this.db, this.stagingLeaseMs, options.log ?? this.log, {
      id,
      chunks: extent.chunks,
      rowExists: true,
      keepUntil: options.keepUntil,
    });
    return new PostgresStaging(this.db, batches, this.digests, {
      offset: extent.bytes,
      digest: this.digests.take(id, extent.bytes),
    });
  }

  /**
   * The job row with the deletion of its staged row, or with its one chunk when the file
   * was never staged (db/jobs/insert-job.ts).
   */
  adoption(file: StagedFile, job: NewJob): RawBuilder<unknown> {
    if (file.id !== job.id) throw new Error('a job adopts the staging with its own id');
    const { inHand } = file as PostgresStagedFile;
    return jobAdoption(job, inHand === undefined ? { staged: true } : { staged: false, data: inHand });
  }

  readStored(jobId: string): AsyncIterable<Buffer> {
    return readFileChunks(this.db.pool, jobId);
  }

  readStoredRange(jobId: string, start: number, end: number): AsyncIterable<Buffer> {
    return readFileRange(this.db.pool, jobId, start, end);
  }

  async reuse(trx: Transaction<Database>, from: StoredFileRef, toJobId: string): Promise<void> {
    const copied = await copyFileChunks(trx, { jobId: from.jobId, bytes: from.bytes }, toJobId);
    if (copied === 0) {
      // Not deleted by retention, yet no bytes: nothing a user can fix (rolls back).
      throw new TallyError(
        'FILE_MISSING',
        'The stored file of this job could not be found, so it cannot be re-run. Upload the file again.',
      );
    }
  }

  expire(opts: { retentionHours: number; limit?: number }): Promise<number> {
    return sweepFinishedFiles(this.db.kysely, opts.retentionHours, opts.limit);
  }

  sweepOrphans(opts: { limit?: number } = {}): Promise<string[]> {
    return sweepStagedUploads(this.db.kysely, {
      leaseMs: this.stagingLeaseMs,
      self: thisProcess,
      ...(opts.limit === undefined ? {} : { limit: opts.limit }),
    });
  }
}
