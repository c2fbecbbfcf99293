import { z } from 'zod';
import { GiB, intFromEnv } from './env-values.ts';

/** Uploads and the stored bytes: limits on a body, where the bytes live, how long. */
export const filesEnv = {
  MAX_UPLOAD_BYTES: intFromEnv(GiB, 1),
  /** An upload sending nothing for this long is cut off (408). */
  UPLOAD_IDLE_TIMEOUT_MS: intFromEnv(30_000, 100),
  /** After UPLOAD_RATE_GRACE_MS, an upload averaging less than this is cut off (408). */
  UPLOAD_MIN_BYTES_PER_SECOND: intFromEnv(1024, 0),
  UPLOAD_RATE_GRACE_MS: intFromEnv(10_000, 0),
  /**
   * An upload's chunks are staged in PostgreSQL as they arrive; its process renews a lease
   * on them every third of this. A staging not renewed this long (its API host died) is
   * swept by any process; one whose process is gone on the same host is swept at once.
   */
  UPLOAD_STAGING_LEASE_MS: intFromEnv(120_000, 1000),
  /** Uploads one owner may start per minute. */
  UPLOAD_RATE_LIMIT_PER_MINUTE: intFromEnv(120, 1),
  /** A resumable upload (tus, /api/uploads) not finished this many hours after its creation is discarded. */
  RESUMABLE_UPLOAD_TTL_HOURS: intFromEnv(24, 1, 24 * 30),
  /** Where uploaded bytes live (src/files/): `postgres`, chunks in the database. */
  FILE_STORE: z.enum(['postgres', 's3'], { error: 'must be postgres or s3' }).default('postgres'),
  /** Stored upload bytes of finished jobs are deleted after this many hours; results stay. */
  FILE_RETENTION_HOURS: intFromEnv(24, 0),
  /** FILE_STORE=s3 (docs/reference.md, "Where bytes live"): the bucket, required then; credentials come from the AWS SDK's chain. */
  S3_BUCKET: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'must be an S3 bucket name (3–63 lower-case letters, digits, dots, hyphens)',
    )
    .optional(),
  /** Every object's key starts with it; the sweep deletes only orphans under it. */
  S3_PREFIX: z.string().max(512, 'must be at most 512 characters').default('tally/'),
  /** An S3-compatible server's URL (MinIO, R2, fauxqs); unset = AWS. */
  S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  S3_REGION: z
    .string()
    .regex(/^[a-z0-9-]{2,40}$/, 'must be a region name such as eu-central-1')
    .optional(),
  /** Path-style URLs (endpoint/bucket/key), which most S3-compatible servers need. */
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
};
