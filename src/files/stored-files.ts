import type { RawBuilder, Transaction } from 'kysely';
import type { InsertedJob, NewJob } from '../db/jobs/insert-job.ts';
import type { Database } from '../db/schema.ts';

/**
 * Where uploaded bytes live: the one interface the upload route, the re-run, the worker
 * and maintenance talk to, as `analysis/spill/spill-store.ts` is for spilled data. The
 * PostgreSQL implementation is `postgres/postgres-stored-files.ts`; `create-stored-files.ts`
 * picks one from FILE_STORE. An object-storage implementation is one new file beside it
 * and one line in that factory.
 *
 * The life of one file:
 *
 *   stage() ─write()…─▶ finish() ──adopt(trx, …)──▶ a job's bytes ──read()──▶ worker
 *      │  └─suspend()─▶ resume(id) ─write()… (a resumable upload, any host)  │
 *      └─discard() (refused, cut off)          reuse(trx) (a re-run) ◀──────┤
 *   sweepOrphans(): stagings nobody writes any more   expire(): retention ◀─┘
 *
 * A staging has the id its job will get, so adoption only says "this staging is now that
 * job's file", in the statement (or transaction) that makes the job: a job exists exactly
 * when its bytes do.
 *
 * Leases: a staging is owned by the process writing it (the `staged_uploads` row, with
 * host/pid/instance and a heartbeat renewed while it writes; db/jobs/staged-uploads.ts).
 * Every store keeps that row, whatever holds the bytes, so `sweepOrphans` on any host takes
 * only stagings whose writer is certainly gone (our own pid namespace) or whose lease ran
 * out, never a live upload on another host. A resumable staging is held until its
 * `keepUntil` instead, whoever wrote it last.
 */
export type StoredFilesKind = 'postgres' | 's3';

/** What the worker, a re-run and the verification know about a job's file. */
export interface StoredFileRef {
  /** The job's id (a staging's id becomes its job's id). */
  readonly jobId: string;
  /** `jobs.bytes`: the stored (possibly gzip) size. */
  readonly bytes: number;
  /** `jobs.sha256`: hex SHA-256 of the stored bytes. */
  readonly sha256: string;
}

/** A complete staged file, ready to be adopted by its job. */
export interface StagedFile {
  /** The staging's id: the job adopting the file gets this id. */
  readonly id: string;
  readonly bytes: number;
  /** Hex SHA-256 of all the bytes, however many requests and hosts wrote them. */
  readonly sha256: string;
  /** Unsigned CRC-32 of all the bytes (zlib.crc32 of the whole file), taken in the same pass. */
  readonly crc32: number;
  /** The first HEAD_BYTES (lib/file-head.ts), for the upload's check of the head. */
  readonly head: Buffer;
  /** Where the store keeps the bytes, for logs (postgres: `job_file_chunks`). */
  readonly location: string;
}

/**
 * One upload being written. Operations run one at a time, in order; a rejected `write`
 * means the upload failed (the staging was swept, or a commit of its bytes failed: a
 * SERVICE_UNAVAILABLE TallyError) and the caller must `discard` and refuse the upload:
 * every byte written must be stored, or no job is made.
 */
export interface Staging {
  readonly id: string;
  /** Bytes written so far, from the start of the file (a resumable upload's Upload-Offset). */
  readonly offset: number;
  /**
   * Appends bytes of any size (the store cuts them as it stores them). Resolves once the
   * store has taken them (the buffer may then be reused), not necessarily committed them.
   */
  write(data: Buffer): Promise<void>;
  /**
   * Commits everything written and lets go of the staging without finishing it: it is kept
   * until `keepUntil` (then swept), whatever happens to this process, and `resume(id)` on any
   * host continues it at `offset`. For a resumable upload's request that ends mid-file.
   */
  suspend(keepUntil: Date): Promise<void>;
  /**
   * Commits everything written: the file is complete. The SHA-256 and CRC-32 are taken as
   * the bytes are written when this staging saw every byte from offset 0; a resumed staging
   * reads its stored bytes back once to hash them (node:crypto cannot save a hash's state
   * between requests; reading back at the store's read speed is the price of resuming).
   */
  finish(): Promise<StagedFile>;
  /**
   * Deletes what was staged. Never rejects: a failure leaves an orphan for `sweepOrphans`
   * (its lease is no longer renewed), never a job.
   */
  discard(): Promise<void>;
}

export interface StageOptions {
  /** Where the staging logs what it could not clean up. */
  log?: { warn(obj: object, msg: string): void };
  /**
   * A resumable upload: the staging is kept until then even if its writer dies (it is
   * swept after, not when its lease runs out). Unset: one request writes it all.
   */
  keepUntil?: Date;
}

export interface StoredFiles {
  /** Where this store keeps bytes, for logs, metrics and admin views. */
  readonly kind: StoredFilesKind;

  /** Begins a new staging under a fresh id. Nothing is stored until the first write. */
  stage(options?: StageOptions): Staging;

  /**
   * Re-opens a suspended staging, on any host, at its committed offset. Throws
   * SERVICE_UNAVAILABLE (the upload was lost and cleaned up) when it was swept or discarded.
   */
  resume(id: string, options?: StageOptions): Promise<Staging>;

  /**
   * The job row (`job.id` = `file.id`) inserted as the owner of the staged file, as the
   * common table expressions of one statement: they end with one named `job` that returns
   * the new row's id, and it returns nothing when the staging is gone (swept: its writer
   * paused past the lease). The caller puts them in the statement that makes the job (with
   * the queue entry, job-lifecycle/create-job.ts), so a small upload pays one round trip
   * (bench/small-jobs.bench.ts); `adopt` runs them alone.
   */
  adoption(file: StagedFile, job: NewJob): RawBuilder<unknown>;

  /**
   * Inside the job's transaction: `adoption` as a statement of its own, which also counts
   * the owner's other jobs in flight (queue/fair-share.ts, for the queue entry's turn).
   * Returns undefined when the staging is gone and no job was inserted; the caller refuses
   * the upload.
   */
  adopt(trx: Transaction<Database>, file: StagedFile, job: NewJob): Promise<InsertedJob | undefined>;

  /**
   * A job's stored bytes, in order. Verified: a read that ends with other than `ref.bytes`
   * bytes or another SHA-256 throws FILE_CORRUPT at its end (verified-read.ts, applied to
   * every store by the factory), so a result is never built from bytes that are not the
   * upload.
   */
  read(ref: StoredFileRef): VerifiedRead;

  /**
   * Bytes [start, end) of a job's stored file, for one part of a file analysed in parallel.
   * Not verified here: the part counts its range's bytes and takes their CRC-32, and the
   * merge checks the parts' CRC-32s together against the upload's (split/part-checksum.ts).
   */
  readRange(ref: StoredFileRef, start: number, end: number): AsyncIterable<Buffer>;

  /**
   * A re-run: inside its transaction, gives job `toJobId` the bytes of job `from`. The
   * caller has locked `from`'s row (`for key share`) and checked the bytes are not expired.
   * Throws FILE_MISSING when they cannot be found. PostgreSQL copies the chunks inside the
   * database (a pointer would need a schema change: retention deletes by job); an object
   * store may copy server-side or point.
   */
  reuse(trx: Transaction<Database>, from: StoredFileRef, toJobId: string): Promise<void>;

  /**
   * Retention: deletes the bytes of up to `limit` jobs that finished more than
   * `retentionHours` ago and sets their `file_deleted_at`. Safe on many processes at once.
   * Returns how many jobs' bytes were deleted.
   */
  expire(opts: { retentionHours: number; limit?: number }): Promise<number>;

  /**
   * Deletes stagings nobody writes any more (cut off, refused, killed -9, a lost host):
   * lease run out, or writer certainly gone on this host. Never a live upload elsewhere.
   * Returns the staging ids swept.
   */
  sweepOrphans(opts?: { limit?: number }): Promise<string[]>;
}

/** A job's bytes as the worker reads them; see StoredFiles.read. */
export interface VerifiedRead extends AsyncIterable<Buffer> {
  /**
   * True once the read reached the end with the expected length and SHA-256. The worker
   * checks it before writing a result (an analysis that stopped reading early is a bug,
   * not a file it may report on).
   */
  readonly verified: boolean;
}

/**
 * What an implementation provides. The factory (create-stored-files.ts) adds `read` by
 * wrapping `readStored` in the verification every store shares (verified-read.ts), so no
 * store can hand the worker bytes it has not checked.
 */
export interface StoredFilesImplementation extends Omit<StoredFiles, 'read' | 'readRange' | 'adopt'> {
  /** A job's bytes in order, as stored; a missing piece ends the read early (the check catches it). */
  readStored(jobId: string): AsyncIterable<Buffer>;
  /** Bytes [start, end) as stored; a missing piece ends the read early (the part's check catches it). */
  readStoredRange(jobId: string, start: number, end: number): AsyncIterable<Buffer>;
}
