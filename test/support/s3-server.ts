import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import type { S3Settings } from '../../src/files/s3-settings.ts';

/**
 * A real S3-compatible server for one test file: fauxqs (npm; no Docker, no download) in
 * this process on a free port, its objects and open multipart uploads kept as files in a
 * temp directory, one bucket of its own. Child processes (API, workers) reach it over TCP
 * like any S3 endpoint, with the variables in `env`.
 *
 * fauxqs answers 413 to a request body over 11 MiB (its Fastify bodyLimit, not
 * configurable): Tally's multipart parts are 8 MiB (src/files/s3-stored-files.ts), so the
 * tests run the part size production runs, and nothing here raises the limit.
 */
export interface TestS3 {
  endpoint: string;
  bucket: string;
  prefix: string;
  /** FILE_STORE=s3 and the S3_* / AWS_* variables, as a Tally process takes them. */
  env: Record<string, string>;
  /** The same server as an in-process store takes it (S3StoredFiles, S3OrphanSweep). */
  settings: S3Settings;
  client: S3Client;
  /** Every object key under the prefix. */
  keys(): Promise<string[]>;
  /**
   * Multipart uploads created and neither completed nor aborted. fauxqs does not answer
   * ListMultipartUploads, so this reads its storage directory (one folder per upload).
   */
  openMultipartUploads(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startTestS3(opts: { prefix?: string } = {}): Promise<TestS3> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-test-s3-'));
  const server: FauxqsServer = await startFauxqs({ port: 0, logger: false, s3StorageDir: dir });
  const bucket = `tally-test-${randomUUID().slice(0, 8)}`;
  server.createBucket(bucket);
  const endpoint = `http://127.0.0.1:${server.port}`;
  const prefix = opts.prefix ?? 'tally/';
  const env = {
    FILE_STORE: 's3',
    S3_BUCKET: bucket,
    S3_PREFIX: prefix,
    S3_ENDPOINT: endpoint,
    S3_REGION: 'us-east-1',
    S3_FORCE_PATH_STYLE: 'true',
    // fauxqs takes any credentials; these go through the SDK's usual chain (environment).
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
  // In-process Tallies take credentials as a deployment does, from the SDK's chain: here the
  // environment (children get them through `env`).
  process.env.AWS_ACCESS_KEY_ID ??= env.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY ??= env.AWS_SECRET_ACCESS_KEY;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return {
    endpoint,
    bucket,
    prefix,
    env,
    settings: { bucket, prefix, endpoint, region: 'us-east-1', forcePathStyle: true },
    client,
    keys: async () => {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
    openMultipartUploads: async () => {
      const multipart = path.join(dir, '_multipart');
      return existsSync(multipart) ? readdir(multipart) : [];
    },
    stop: async () => {
      client.destroy();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
