import type { FastifyRequest } from 'fastify';
import type { PgBoss } from 'pg-boss';
import { validate as isUuid } from 'uuid';
import type { Db } from '../../db/database.ts';
import { findResumableUpload, type ResumableUpload } from '../../db/jobs/resumable-uploads.ts';
import { TallyError } from '../../errors.ts';
import type { StoredFiles } from '../../files/stored-files.ts';

/** The resumable route's settings, translated from the configuration in src/roles/api-role.ts. */
export interface ResumableUploadLimits {
  /** MAX_UPLOAD_BYTES */
  maxUploadBytes: number;
  /** UPLOAD_IDLE_TIMEOUT_MS */
  idleTimeoutMs: number;
  /** UPLOAD_RATE_LIMIT_PER_MINUTE */
  ratePerMinute: number;
  /** UPLOAD_STAGING_LEASE_MS */
  stagingLeaseMs: number;
  /** RESUMABLE_UPLOAD_TTL_HOURS */
  ttlHours: number;
}

/** What every /api/uploads route works with; `ownerOf` is the owner the plugin's auth hook found. */
export interface UploadRouteDeps {
  db: Db;
  boss: PgBoss;
  files: StoredFiles;
  limits: ResumableUploadLimits;
  ownerOf(request: FastifyRequest): string;
}

export type UploadRequest = FastifyRequest<{ Params: { id: string } }>;

/** The upload the URL names, as its id is stored (lower case); anything not a UUID is unknown. */
export function uploadId(request: UploadRequest): string {
  const { id } = request.params;
  if (!isUuid(id)) throw notFound();
  return id.toLowerCase();
}

/** The requester's own upload, or 404 (another owner's is indistinguishable from none). */
export async function findOwned(deps: UploadRouteDeps, request: UploadRequest): Promise<ResumableUpload> {
  const upload = await findResumableUpload(deps.db.kysely, uploadId(request), deps.ownerOf(request));
  if (!upload) throw notFound();
  return upload;
}

export function notFound(): TallyError {
  return new TallyError('NOT_FOUND', 'No such upload (it finished long ago, expired, or never existed).');
}

export function locked(): TallyError {
  return new TallyError(
    'UPLOAD_LOCKED',
    'Another request is writing this upload; retry in a moment.',
    undefined,
    { retryAfterSeconds: 1 },
  );
}

export function lostLease(): TallyError {
  return new TallyError('SERVICE_UNAVAILABLE', 'This upload was taken over by another request; resume it.');
}

export function offsetMismatch(expected: number): TallyError {
  return new TallyError(
    'UPLOAD_OFFSET_MISMATCH',
    `Upload-Offset must be ${expected}, the bytes stored so far; HEAD the upload and resume from there.`,
    { uploadOffset: expected },
  );
}
