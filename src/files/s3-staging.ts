import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { v7 as uuidv7 } from 'uuid';
import type { Db } from '../db/database.ts';
import { TallyError } from '../errors.ts';
import { thisProcess } from '../lib/process-identity.ts';
import { digestOf, FileDigest } from './file-digest.ts';
import { readObject } from './s3-object-read.ts';
import { PART_BYTES, S3PartPipeline, storeFailed } from './s3-part-pipeline.ts';
import {
  deleteMultipartRecord,
  deleteStagedRow,
  insertStagedRow,
  recordSuspended,
  renewStagedRow,
  type S3Part,
} from './s3-staging-rows.ts';
import type { S3Settings } from './s3-settings.ts';
import type { StagedFile, Staging } from './stored-files.ts';
import type { SuspendedDigests } from './suspended-digests.ts';

/** S3's smallest part but the last: a suspended tail shorter than this is kept as its own object. */
const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface S3StagingDeps {
  s3: S3Client;
  settings: S3Settings;
  db: Db;
  leaseMs: number;
  log: { warn(obj: object, msg: string): void };
  /** Where a suspend leaves its running digest for this process's next resume. */
  digests: SuspendedDigests;
}

/** What a resumed staging continues from (src/files/s3-staging-rows.ts). */
export interface S3Resumed {
  uploadId: string | null;
  parts: S3Part[];
  tail: Buffer;
  /** The digest of every byte before the resume, when this process kept it. */
  digest?: FileDigest | undefined;
}

export function objectKey(settings: S3Settings, id: string): string {
  return `${settings.prefix}${id}`;
}

export function tailKey(settings: S3Settings, id: string): string {
  return `${settings.prefix}${id}.tail`;
}

/**
 * One upload into the object store: bytes cut into parts of a multipart upload as they
 * arrive (s3-part-pipeline.ts, four parts in flight), then completed as one object
 * `${prefix}${id}` before the job's transaction (StoredFiles.adopt) commits.
 *
 * PostgreSQL holds what a crash must not lose: the `staged_uploads` row (lease, shared with
 * every store: the sweep's rules are the same) written before the multipart upload is
 * created, and the multipart upload's id recorded before any part is sent, so the sweep can
 * abort what a kill -9 left without listing the bucket's uploads (which S3-compatible servers
 * need not offer). A resumable staging's `suspend` also records its parts and leaves its tail
 * (under 5 MiB) as a small object, so that any host can `resume` it.
 *
 * Why not lib-storage's `Upload`: it creates the multipart upload lazily and keeps its id
 * and parts to itself, so neither can be recorded before the first part, nor an upload
 * continued by another request. Bench P1s compares this with `Upload` on the same server.
 */
export class S3Staging implements Staging {
  offset: number;
  private readonly key: string;
  private readonly digest: FileDigest | undefined;
  private readonly multipart: S3PartPipeline;
  private current: Buffer;
  private filled: number;
  private rowWritten: boolean;
  private tailWritten: boolean;
  private renewTimer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: S3StagingDeps,
    readonly id: string = uuidv7(),
    private heldUntil: Date | undefined = undefined,
    resumed?: S3Resumed,
  ) {
    this.key = objectKey(deps.settings, id);
    this.multipart = new S3PartPipeline(
      {
        s3: deps.s3,
        db: deps.db,
        bucket: deps.settings.bucket,
        key: this.key,
        id,
        beforeCreate: () => this.ensureRow(),
      },
      resumed,
    );
    this.current = Buffer.allocUnsafe(PART_BYTES);
    this.filled = resumed ? resumed.tail.copy(this.current) : 0;
    this.offset = this.multipart.partBytes + this.filled;
    // A staging that sees every byte from the first hashes as they go; a resumed one continues
    // its process's kept digest, or reads the object back at the end.
    this.digest = this.offset === 0 ? new FileDigest() : resumed?.digest;
    this.rowWritten = resumed !== undefined;
    this.tailWritten = resumed !== undefined && resumed.tail.length > 0;
  }

  write(data: Buffer): Promise<void> {
    return this.serial(async () => {
      this.multipart.throwIfFailed();
      this.digest?.update(data);
      this.offset += data.length;
      let at = 0;
      while (at < data.length) {
        const n = data.copy(this.current, this.filled, at);
        this.filled += n;
        at += n;
        if (this.filled === PART_BYTES) await this.sendPart();
      }
    });
  }

  suspend(keepUntil: Date): Promise<void> {
    return this.serial(async () => {
      this.heldUntil = new Date(keepUntil.getTime() - this.deps.leaseMs);
      await this.multipart.drain();
      // A tail of 5 MiB or more may be a part of its own; a shorter one waits as an object.
      if (this.filled >= MIN_PART_BYTES) {
        await this.sendPart();
        await this.multipart.drain();
      }
      const tail = this.current.subarray(0, this.filled);
      if (tail.length > 0) {
        await this.deps.s3.send(
          new PutObjectCommand({
            Bucket: this.deps.settings.bucket,
            Key: tailKey(this.deps.settings, this.id),
            Body: tail,
          }),
        );
        this.tailWritten = true;
      }
      await this.ensureRow();
      const { uploadId, parts } = this.multipart;
      await recordSuspended(this.deps.db, this.id, this.key, uploadId, parts, tail.length);
      if (this.digest?.bytes === this.offset) this.deps.digests.keep(this.id, this.digest);
      this.stopRenewing();
    });
  }

  finish(): Promise<StagedFile> {
    return this.serial(async () => {
      await this.multipart.drain();
      await this.ensureRow();
      const { bucket } = this.deps.settings;
      if (this.multipart.uploadId === null) {
        // Smaller than one part: one PUT, no multipart upload.
        await this.deps.s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: this.key,
            Body: this.current.subarray(0, this.filled),
          }),
        );
      } else {
        if (this.filled > 0 || this.multipart.parts.length === 0) await this.sendPart();
        await this.multipart.complete();
      }
      await deleteMultipartRecord(this.deps.db, this.id);
      // A resumable staging may have left a tail object at any suspend, consumed since.
      if (this.tailWritten || this.heldUntil !== undefined) {
        await this.deleteQuietly(tailKey(this.deps.settings, this.id));
      }
      const head = await this.deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: this.key }));
      if (head.ContentLength !== this.offset) {
        throw storeFailed(new Error(`object is ${head.ContentLength} bytes, ${this.offset} were written`));
      }
      const digested = this.digest?.digest() ?? (await digestOf(readObject(this.deps.s3, bucket, this.key)));
      this.stopRenewing();
      return {
        id: this.id,
        bytes: digested.bytes,
        sha256: digested.sha256,
        crc32: digested.crc32,
        head: digested.head,
        location: `s3://${bucket}/${this.key}`,
      };
    });
  }

  discard(): Promise<void> {
    this.stopRenewing();
    const run = async () => {
      await this.multipart.abort();
      const { bucket } = this.deps.settings;
      await this.deps.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: this.key }));
      await this.deps.s3.send(
        new DeleteObjectCommand({ Bucket: bucket, Key: tailKey(this.deps.settings, this.id) }),
      );
      await deleteMultipartRecord(this.deps.db, this.id);
      await deleteStagedRow(this.deps.db, this.id);
    };
    // Never rejects: what is left (the staged row no longer renewed) is the sweep's.
    return this.queue
      .catch(() => undefined)
      .then(run)
      .catch((error: unknown) =>
        this.deps.log.warn(
          { err: error, stagedUpload: this.id },
          'could not delete a refused upload’s object; the sweep will',
        ),
      );
  }

  /** Hands the full (or last) buffer to the part pipeline and fills a fresh one. */
  private async sendPart(): Promise<void> {
    this.current = await this.multipart.send(this.current, this.filled);
    this.filled = 0;
  }

  /** Writes the staged row on first need; later, renews it (the adoption that follows has the lease to itself). */
  private async ensureRow(): Promise<void> {
    if (this.rowWritten) {
      await renewStagedRow(this.deps.db, this.id, this.heldUntil);
      return;
    }
    await insertStagedRow(this.deps.db, this.id, thisProcess, this.heldUntil);
    this.rowWritten = true;
    if (this.heldUntil === undefined) this.startRenewing();
  }

  private startRenewing(): void {
    // A third of the lease: two renewals may fail (a busy database) before it runs out.
    this.renewTimer = setInterval(() => {
      renewStagedRow(this.deps.db, this.id, this.heldUntil).catch((error: unknown) => {
        // Swept (its lease ran out): no more parts. A busy database: the next renewal may do.
        if (error instanceof TallyError) this.multipart.fail(error);
      });
    }, this.deps.leaseMs / 3);
    this.renewTimer.unref();
  }

  private stopRenewing(): void {
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  private async deleteQuietly(key: string): Promise<void> {
    await this.deps.s3
      .send(new DeleteObjectCommand({ Bucket: this.deps.settings.bucket, Key: key }))
      .catch((error: unknown) =>
        this.deps.log.warn({ err: error, key }, 'could not delete an object; the sweep will'),
      );
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
