import { CopyObjectCommand, DeleteObjectsCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import { jobAdoption, type NewJob } from '../db/jobs/insert-job.ts';
import type { Database } from '../db/schema.ts';
import { TallyError } from '../errors.ts';
import { readObject } from './s3-object-read.ts';
import { S3OrphanSweep } from './s3-orphan-sweep.ts';
import { createS3Client, type S3Settings } from './s3-settings.ts';
import { loadSuspended } from './s3-staging-rows.ts';
import { objectKey, S3Staging, tailKey, type S3StagingDeps } from './s3-staging.ts';
import type {
  StagedFile,
  StageOptions,
  Staging,
  StoredFileRef,
  StoredFilesImplementation,
} from './stored-files.ts';
import { SuspendedDigests } from './suspended-digests.ts';

/**
 * FILE_STORE=s3 (docs/reference.md, "Where bytes live"): every job's bytes are one object, `${S3_PREFIX}${jobId}`, in an
 * S3-compatible store; PostgreSQL keeps the job row, the staging's lease and the multipart
 * upload's record, never the bytes (bench: pg_database_size grows by well under 1 MiB per
 * GiB uploaded).
 *
 * Jobs whose bytes were stored before the switch (`jobs.file_store = 'postgres'`) are read,
 * re-run and expired by the PostgreSQL store, `legacy`, so changing FILE_STORE loses nothing.
 */
export class S3StoredFiles implements StoredFilesImplementation {
  readonly kind = 's3' as const;
  private readonly s3: S3Client;
  private readonly orphans: S3OrphanSweep;
  private readonly digests = new SuspendedDigests();

  constructor(
    private readonly settings: S3Settings,
    private readonly db: Db,
    private readonly leaseMs: number,
    private readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void },
    private readonly legacy: StoredFilesImplementation,
    s3?: S3Client,
  ) {
    this.s3 = s3 ?? createS3Client(settings);
    this.orphans = new S3OrphanSweep({ s3: this.s3, settings, db, leaseMs, log });
  }

  stage(options: StageOptions = {}): Staging {
    const heldUntil = options.keepUntil ? new Date(options.keepUntil.getTime() - this.leaseMs) : undefined;
    return new S3Staging(this.stagingDeps(options), undefined, heldUntil);
  }

  async resume(id: string, options: StageOptions = {}): Promise<Staging> {
    const record = await loadSuspended(this.db, id); // throws SERVICE_UNAVAILABLE when swept
    const heldUntil = options.keepUntil ? new Date(options.keepUntil.getTime() - this.leaseMs) : undefined;
    if (record === undefined)
      return new S3Staging(this.stagingDeps(options), id, heldUntil, {
        uploadId: null,
        parts: [],
        tail: Buffer.alloc(0),
      });
    const tail = record.tailBytes > 0 ? await this.readTail(id, record.tailBytes) : Buffer.alloc(0);
    const stored = record.parts.reduce((n, p) => n + p.size, 0) + tail.length;
    return new S3Staging(this.stagingDeps(options), id, heldUntil, {
      uploadId: record.uploadId,
      parts: record.parts,
      tail,
      digest: this.digests.take(id, stored),
    });
  }

  /** The job row and the adoption (its staged row deleted), its bytes marked as in the object store. */
  adoption(file: StagedFile, job: NewJob): RawBuilder<unknown> {
    if (file.id !== job.id) throw new Error('a job adopts the staging with its own id');
    return jobAdoption(job, { staged: true }, 's3');
  }

  async *readStored(jobId: string): AsyncGenerator<Buffer> {
    if ((await this.storeOf(jobId)) === 'postgres') {
      yield* this.legacy.readStored(jobId);
      return;
    }
    yield* readObject(this.s3, this.settings.bucket, objectKey(this.settings, jobId));
  }

  async *readStoredRange(jobId: string, start: number, end: number): AsyncGenerator<Buffer> {
    if ((await this.storeOf(jobId)) === 'postgres') {
      yield* this.legacy.readStoredRange(jobId, start, end);
      return;
    }
    yield* readObject(this.s3, this.settings.bucket, objectKey(this.settings, jobId), { start, end });
  }

  /**
   * A re-run's bytes: a server-side copy (CopyObject: no byte passes through Tally; one
   * request up to 5 GiB, above MAX_UPLOAD_BYTES' default of 1 GiB). If the re-run's
   * transaction then rolls back, the copy has no job and the orphan sweep deletes it.
   */
  async reuse(trx: Transaction<Database>, from: StoredFileRef, toJobId: string): Promise<void> {
    if ((await this.storeOf(from.jobId, trx)) === 'postgres') return this.legacy.reuse(trx, from, toJobId);
    const { bucket } = this.settings;
    try {
      await this.s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: objectKey(this.settings, toJobId),
          CopySource: `${bucket}/${encodeURIComponent(objectKey(this.settings, from.jobId))}`,
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') {
        throw new TallyError('FILE_MISSING', 'The stored file of this job is missing; upload it again.');
      }
      throw error;
    }
    // The re-run's row may be inserted before or after this call: both orders end 's3'.
    await sql`update jobs set file_store = 's3' where id = ${toJobId}`.execute(trx);
  }

  /**
   * Retention: the objects of up to `limit` S3 jobs finished before the cut-off, deleted in
   * one DeleteObjects, then `file_deleted_at` set, in one transaction that holds their rows
   * (SKIP LOCKED: many processes may run it). Then the PostgreSQL store's own pass.
   */
  async expire(opts: { retentionHours: number; limit?: number }): Promise<number> {
    const deleted = await this.db.kysely.transaction().execute(async (trx) => {
      const { rows } = await sql<{ id: string }>`
        select id from jobs
         where file_store = 's3' and file_deleted_at is null and finished_at is not null
           and finished_at < now() - make_interval(hours => ${opts.retentionHours})
         order by finished_at
         limit ${Math.min(opts.limit ?? 500, 1000)}
         for update skip locked
      `.execute(trx);
      if (rows.length === 0) return 0;
      await this.deleteObjects(rows.map((r) => objectKey(this.settings, r.id)));
      await sql`update jobs set file_deleted_at = now() where id = any(${rows.map((r) => r.id)}::uuid[])`.execute(
        trx,
      );
      return rows.length;
    });
    return deleted + (await this.legacy.expire(opts));
  }

  /**
   * Stagings nobody writes any more (the shared staged_uploads rules, through the
   * PostgreSQL store's sweep), then what they left in the bucket: open multipart uploads,
   * objects and tails no job or live staging owns (s3-orphan-sweep.ts).
   */
  async sweepOrphans(opts: { limit?: number } = {}): Promise<string[]> {
    const swept = await this.legacy.sweepOrphans(opts);
    const cleaned = await this.orphans.run(swept);
    return [...new Set([...swept, ...cleaned])];
  }

  async deleteObjects(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const out = await this.s3.send(
      new DeleteObjectsCommand({
        Bucket: this.settings.bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
    if (failed.length > 0)
      throw new Error(`S3 refused to delete ${failed.length} object(s): ${failed[0]?.Code}`);
  }

  private stagingDeps(options: StageOptions): S3StagingDeps {
    return {
      s3: this.s3,
      settings: this.settings,
      db: this.db,
      leaseMs: this.leaseMs,
      log: options.log ?? this.log,
      digests: this.digests,
    };
  }

  private async storeOf(jobId: string, trx?: Transaction<Database>): Promise<'postgres' | 's3'> {
    const { rows } = await sql<{ store: 'postgres' | 's3' }>`
      select file_store as store from jobs where id = ${jobId}
    `.execute(trx ?? this.db.kysely);
    return rows[0]?.store ?? 's3';
  }

  private async readTail(id: string, bytes: number): Promise<Buffer> {
    const out = await this.s3.send(
      new GetObjectCommand({
        Bucket: this.settings.bucket,
        Key: tailKey(this.settings, id),
        Range: `bytes=0-${bytes - 1}`,
      }),
    );
    const tail = Buffer.from(await out.Body!.transformToByteArray());
    if (tail.length !== bytes)
      throw new TallyError('SERVICE_UNAVAILABLE', 'The upload’s stored tail is incomplete; send it again.');
    return tail;
  }
}
