import { S3Client } from '@aws-sdk/client-s3';
import type { BuildMiddleware, MetadataBearer } from '@smithy/types';

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
  const client = new S3Client({
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
  client.middlewareStack.add(unsignedPayload, { step: 'build', name: 'tallyUnsignedPayload' });
  return client;
}

/** The commands that carry a file's bytes. */
const BYTE_COMMANDS = new Set(['UploadPartCommand', 'PutObjectCommand']);

/**
 * File bytes are sent as `UNSIGNED-PAYLOAD`: SigV4 would otherwise SHA-256 every part before
 * sending it (the SDK signs buffer bodies, over http and https alike), a second full hash of
 * each upload beside Tally's own. Bench P1s, CPU profile of the API process: SHA-256 was 23 %
 * of its busy time for a 1 GiB upload, half of it the signature's. What that hash guarded is
 * guarded still: TLS (https endpoints) against tampering in transit, the object's length
 * checked after completion, and Tally's SHA-256 of the upload checked on every read
 * (src/files/verified-read.ts, FILE_CORRUPT otherwise). The request itself is still signed.
 */
const unsignedPayload: BuildMiddleware<object, MetadataBearer> = (next, context) => (args) => {
  const { headers } = args.request as { headers?: Record<string, string> };
  if (BYTE_COMMANDS.has(context.commandName ?? '') && headers) {
    headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  }
  return next(args);
};
