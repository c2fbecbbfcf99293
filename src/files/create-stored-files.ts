import type { Db } from '../db/database.ts';
import { insertAdopting } from '../db/jobs/insert-job.ts';
import type { Logger } from '../logger.ts';
import { PostgresStoredFiles } from './postgres/postgres-stored-files.ts';
import type { S3Settings } from './s3-settings.ts';
import { S3StoredFiles } from './s3-stored-files.ts';
import type { StoredFiles, StoredFilesImplementation, StoredFilesKind } from './stored-files.ts';
import { verifiedRead } from './verified-read.ts';

/**
 * Where uploaded bytes live and for how long a staging is held, translated from the
 * environment at the edge (src/roles/role-options.ts).
 */
export interface StoredFilesOptions {
  store: StoredFilesKind;
  /** A staging not renewed this long belongs to nobody (its API host died). */
  stagingLeaseMs: number;
  /** The object store's bucket, prefix and endpoint; set when `store` is 's3'. */
  s3?: S3Settings;
}

export interface StoredFilesDeps {
  /** The main pool (not the requests' pool: a stored file's statements are long). */
  db: Db;
  log: Logger;
}

/** One line per store: an object store adds its file and its line here. */
const IMPLEMENTATIONS: Record<
  StoredFilesKind,
  (options: StoredFilesOptions, deps: StoredFilesDeps) => StoredFilesImplementation
> = {
  postgres: (options, deps) => new PostgresStoredFiles(deps.db, options.stagingLeaseMs, deps.log),
  // Jobs stored before a switch to s3 stay readable: the PostgreSQL store serves them.
  s3: (options, deps) =>
    new S3StoredFiles(
      options.s3!,
      deps.db,
      options.stagingLeaseMs,
      deps.log,
      new PostgresStoredFiles(deps.db, options.stagingLeaseMs, deps.log),
    ),
};

/** The configured store, its reads verified (verified-read.ts) whatever the store. */
export function createStoredFiles(options: StoredFilesOptions, deps: StoredFilesDeps): StoredFiles {
  return withVerifiedReads(IMPLEMENTATIONS[options.store](options, deps));
}

export function withVerifiedReads(store: StoredFilesImplementation): StoredFiles {
  return {
    kind: store.kind,
    stage: (options) => store.stage(options),
    resume: (id, options) => store.resume(id, options),
    adoption: (file, job) => store.adoption(file, job),
    adopt: (trx, file, job) => insertAdopting(trx, job.owner, store.adoption(file, job)),
    read: (ref) => verifiedRead(store.readStored(ref.jobId), ref),
    readRange: (ref, start, end) => store.readStoredRange(ref.jobId, start, end),
    reuse: (trx, from, toJobId) => store.reuse(trx, from, toJobId),
    expire: (opts) => store.expire(opts),
    sweepOrphans: (opts) => store.sweepOrphans(opts),
  };
}
