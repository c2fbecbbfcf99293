import { S3Client } from '@aws-sdk/client-s3';

/**
 * The object store's settings (docs/reference.md, "Where bytes live"), translated from
 * FILE_STORE=s3's variables at the edge (src/roles/role-options.ts).
 */
export interface S3Settings {
  bucket: string;
  /** Every object Tally writes is `${prefix}${jobId}` (and a resumable staging's `${prefix}${id}.tail`). */
  prefix: string;
  /** Unset: AWS. */
  endpoint: string | undefined;
  /** Unset: the SDK's chain (AWS_REGION, the profile), else us-east-1 when an endpoint is set. */
  region: string | undefined;
  forcePathStyle: boolean;
}

/**
 * The client every S3 call goes through. Credentials come from the SDK's usual chain
 * (AWS_ACCESS_KEY_ID…, AWS_PROFILE, web identity, instance roles); none is configured here.
 *
 * Checksums only where S3 requires them: the SDK's default (CRC32 of every part, computed
 * in JavaScript) would hash every byte a second time; Tally hashes each upload with SHA-256
 * itself and checks it on every read (src/files/verified-read.ts).
 */
export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    ...(settings.region === undefined
      ? settings.endpoint === undefined
        ? {}
        : { region: 'us-east-1' }
      : { region: settings.region }),
    forcePathStyle: settings.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
