import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { v7 as uuidv7 } from 'uuid';
import type { Db } from '../db/database.ts';
import { TallyError } from '../errors.ts';
import { thisProcess } from '../lib/process-identity.ts';
import { digestOf, FileDigest } from './file-digest.ts';
import { readObject } from './s3-object-read.ts';
import {
  deleteMultipartRecord,
  deleteStagedRow,
  insertStagedRow,
  recordMultipartUpload,
  recordSuspended,
  renewStagedRow,
  type S3Part,
} from './s3-staging-rows.ts';
import type { S3Settings } from './s3-settings.ts';
import type { StagedFile, Staging } from './stored-files.ts';

/**
 * Part size. S3 wants 5 MiB at least (but for the last) and at most 10,000 parts: 8 MiB
 * parts carry files up to 78 GiB. fauxqs, the S3 server of the tests, refuses request bodies
 * over 11 MiB, so production runs the size the tests run.
 */
export const PART_BYTES = 8 * 1024 * 1024;
/** S3's smallest part but the last: a suspended tail shorter than this is kept as its own object. */
const MIN_PART_BYTES = 5 * 1024 * 1024;
/**
 * Parts in flight at once: the upload's memory is PART_BYTES × (PARTS_IN_FLIGHT + 1), 40 MiB,
 * whatever the file size. Measured in bench P1s.
 */
const PARTS_IN_FLIGHT = 4;

export interface S3StagingDeps {
  s3: S3Client;
  settings: S3Settings;
  db: Db;
  leaseMs: number;
  log: { warn(obj: object, msg: string): void };
}

/** What a resumed staging continues from (src/files/s3-staging-rows.ts). */
export interface S3Resumed {
  uploadId: string | null;
  parts: S3Part[];
  tail: Buffer;
}

export function objectKey(settings: S3Settings, id: string): string {
  return `${settings.prefix}${id}`;
}

export function tailKey(settings: S3Settings, id: string): string {
  return `${settings.prefix}${id}.tail`;
}

/**
 * One upload into the object store: bytes cut into parts of a multipart upload as they
 * arrive, four parts in flight, then completed as one object `${prefix}${id}` before the
 * job's transaction (StoredFiles.adopt) commits.
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
 * continued by another request. The part loop is ~60 lines; bench P1s compares it with
 * `Upload` on the same server.
 */
export class S3Staging implements Staging {
  offset: number;
  private readonly key: string;
  private readonly digest: FileDigest | undefined;
  private uploadId: string | null;
  private readonly parts: S3Part[];
  private nextPart: number;
  private current: Buffer;
  private filled: number;
  private readonly spare: Buffer[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;
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
    this.uploadId = resumed?.uploadId ?? null;
    this.parts = resumed?.parts ?? [];
    // Parts sent after the last suspend were never recorded: their numbers are taken again.
    this.nextPart = this.parts.reduce((max, p) => Math.max(max, p.n), 0) + 1;
    this.current = Buffer.allocUnsafe(PART_BYTES);
    this.filled = resumed ? resumed.tail.copy(this.current) : 0;
    this.offset = this.parts.reduce((n, p) => n + p.size, 0) + this.filled;
    // A staging that sees every byte from the first hashes as they go; a resumed one reads back.
    this.digest = this.offset === 0 ? new FileDigest() : undefined;
    this.rowWritten = resumed !== undefined;
    this.tailWritten = resumed !== undefined && resumed.tail.length > 0;
  }

  write(data: Buffer): Promise<void> {
    return this.serial(async () => {
      this.throwIfFailed();
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
      await this.drain();
      // A tail of 5 MiB or more may be a part of its own; a shorter one waits as an object.
      if (this.filled >= MIN_PART_BYTES) {
        await this.sendPart();
        await this.drain();
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
      await recordSuspended(this.deps.db, this.id, this.key, this.uploadId, this.parts, tail.length);
      this.stopRenewing();
    });
  }

  finish(): Promise<StagedFile> {
    return this.serial(async () => {
      await this.drain();
      await this.ensureRow();
      const { bucket } = this.deps.settings;
      if (this.uploadId === null) {
        // Smaller than one part: one PUT, no multipart upload.
        await this.deps.s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: this.key,
            Body: this.current.subarray(0, this.filled),
          }),
        );
      } else {
        if (this.filled > 0 || this.parts.length === 0) {
          await this.sendPart();
          await this.drain();
        }
        const Parts = [...this.parts]
          .sort((a, b) => a.n - b.n)
          .map((p) => ({ PartNumber: p.n, ETag: p.etag }));
        await this.deps.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: this.key,
            UploadId: this.uploadId,
            MultipartUpload: { Parts },
          }),
        );
        this.uploadId = null;
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
        head: digested.head,
        location: `s3://${bucket}/${this.key}`,
      };
    });
  }

  discard(): Promise<void> {
    this.stopRenewing();
    const run = async () => {
      await Promise.allSettled([...this.inFlight]);
      const { bucket } = this.deps.settings;
      if (this.uploadId !== null) {
        await this.deps.s3.send(
          new AbortMultipartUploadCommand({ Bucket: bucket, Key: this.key, UploadId: this.uploadId }),
        );
      }
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

  /** Hands the full (or last) buffer to a part upload, waiting while PARTS_IN_FLIGHT are out. */
  private async sendPart(): Promise<void> {
    while (this.inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(this.inFlight);
    this.throwIfFailed();
    await this.ensureMultipartUpload();
    const body = this.current.subarray(0, this.filled);
    const buffer = this.current;
    const n = this.nextPart++;
    this.current = this.spare.pop() ?? Buffer.allocUnsafe(PART_BYTES);
    this.filled = 0;
    const sent = this.deps.s3
      .send(
        new UploadPartCommand({
          Bucket: this.deps.settings.bucket,
          Key: this.key,
          UploadId: this.uploadId!,
          PartNumber: n,
          Body: body,
          ContentLength: body.length,
        }),
      )
      .then(
        (out) => {
          if (!out.ETag) throw new Error(`part ${n} has no ETag`);
          this.parts.push({ n, etag: out.ETag, size: body.length });
          this.spare.push(buffer);
        },
        (error: unknown) => {
          this.failure ??= storeFailed(error);
        },
      )
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  /** The staged row (the lease) first, then the multipart upload, then its id: a crash between leaves nothing unrecorded but one empty upload. */
  private async ensureMultipartUpload(): Promise<void> {
    if (this.uploadId !== null) return;
    await this.ensureRow();
    const created = await this.deps.s3.send(
      new CreateMultipartUploadCommand({ Bucket: this.deps.settings.bucket, Key: this.key }),
    );
    if (!created.UploadId) throw storeFailed(new Error('CreateMultipartUpload returned no UploadId'));
    this.uploadId = created.UploadId;
    await recordMultipartUpload(this.deps.db, this.id, this.key, this.uploadId);
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

  private async drain(): Promise<void> {
    await Promise.all([...this.inFlight]);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private startRenewing(): void {
    // A third of the lease: two renewals may fail (a busy database) before it runs out.
    this.renewTimer = setInterval(() => {
      renewStagedRow(this.deps.db, this.id, this.heldUntil).catch((error: unknown) => {
        // Swept (its lease ran out): no more parts. A busy database: the next renewal may do.
        if (error instanceof TallyError) this.failure ??= error;
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

/** The upload cannot become a job: a request to the store failed (`cause`). Sending it again is what helps. */
function storeFailed(cause: unknown): TallyError {
  return new TallyError(
    'SERVICE_UNAVAILABLE',
    'The upload was interrupted on the server (its partial file was cleaned up); send it again.',
    undefined,
    { retryAfterSeconds: 1, cause },
  );
}
