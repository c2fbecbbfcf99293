import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Db } from '../db/database.ts';
import { TallyError } from '../errors.ts';
import { recordMultipartUpload, type S3Part } from './s3-staging-rows.ts';

/**
 * Part size. S3 wants 5 MiB at least (but for the last) and at most 10,000 parts: 8 MiB
 * parts carry files up to 78 GiB. fauxqs, the S3 server of the tests, refuses request bodies
 * over 11 MiB, so production runs the size the tests run.
 */
export const PART_BYTES = 8 * 1024 * 1024;
/**
 * Parts in flight at once: the upload's memory is PART_BYTES × (PARTS_IN_FLIGHT + 1), 40 MiB,
 * whatever the file size. Measured in bench P1s.
 */
export const PARTS_IN_FLIGHT = 4;

export interface S3PartTarget {
  s3: S3Client;
  db: Db;
  bucket: string;
  key: string;
  /** The staging's id, under which PostgreSQL records the multipart upload. */
  id: string;
  /** Runs before the multipart upload is created (the staged row, the lease, comes first). */
  beforeCreate(): Promise<void>;
}

/**
 * One object's multipart upload, as a pipeline of parts: created on the first part, its
 * id recorded in PostgreSQL before any part is sent (so a sweep, or another host resuming,
 * can finish or abort it), PARTS_IN_FLIGHT parts on the wire at once, their buffers reused.
 * The first failed part fails the pipeline: every later call throws it.
 */
export class S3PartPipeline {
  uploadId: string | null;
  readonly parts: S3Part[];
  private nextPart: number;
  private readonly spare: Buffer[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;

  constructor(
    private readonly target: S3PartTarget,
    resumed?: { uploadId: string | null; parts: S3Part[] },
  ) {
    this.uploadId = resumed?.uploadId ?? null;
    this.parts = resumed?.parts ?? [];
    // Parts sent after the last suspend were never recorded: their numbers are taken again.
    this.nextPart = this.parts.reduce((max, p) => Math.max(max, p.n), 0) + 1;
  }

  /** Bytes in the recorded parts. */
  get partBytes(): number {
    return this.parts.reduce((n, p) => n + p.size, 0);
  }

  /**
   * Sends `buffer[0, length)` as the next part, once fewer than PARTS_IN_FLIGHT are out, and
   * returns a buffer to fill next (the caller must not touch `buffer` again).
   */
  async send(buffer: Buffer, length: number): Promise<Buffer> {
    while (this.inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(this.inFlight);
    this.throwIfFailed();
    await this.ensureUpload();
    const body = buffer.subarray(0, length);
    const n = this.nextPart++;
    const { s3, bucket, key } = this.target;
    const sent = s3
      .send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
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
        (error: unknown) => this.fail(storeFailed(error)),
      )
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
    return this.spare.pop() ?? Buffer.allocUnsafe(PART_BYTES);
  }

  /** Waits for every part in flight; throws if one failed. */
  async drain(): Promise<void> {
    await Promise.all([...this.inFlight]);
    this.throwIfFailed();
  }

  /** Completes the multipart upload into the object, its parts in order. */
  async complete(): Promise<void> {
    await this.drain();
    const Parts = [...this.parts].sort((a, b) => a.n - b.n).map((p) => ({ PartNumber: p.n, ETag: p.etag }));
    const { s3, bucket, key } = this.target;
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: this.uploadId!,
        MultipartUpload: { Parts },
      }),
    );
    this.uploadId = null;
  }

  /** Lets the parts in flight end, then aborts the multipart upload if there is one. */
  async abort(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    if (this.uploadId === null) return;
    const { s3, bucket, key } = this.target;
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: this.uploadId }));
  }

  /** Fails the pipeline (the first failure is the one kept). */
  fail(error: Error): void {
    this.failure ??= error;
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** The staged row (the lease) first, then the multipart upload, then its id: a crash between leaves nothing unrecorded but one empty upload. */
  private async ensureUpload(): Promise<void> {
    if (this.uploadId !== null) return;
    await this.target.beforeCreate();
    const { s3, bucket, key, db, id } = this.target;
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    if (!created.UploadId) throw storeFailed(new Error('CreateMultipartUpload returned no UploadId'));
    this.uploadId = created.UploadId;
    await recordMultipartUpload(db, id, key, this.uploadId);
  }
}

/** The upload cannot become a job: a request to the store failed (`cause`). Sending it again is what helps. */
export function storeFailed(cause: unknown): TallyError {
  return new TallyError(
    'SERVICE_UNAVAILABLE',
    'The upload was interrupted on the server (its partial file was cleaned up); send it again.',
    undefined,
    { retryAfterSeconds: 1, cause },
  );
}
