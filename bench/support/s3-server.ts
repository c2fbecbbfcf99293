/**
 * An S3-compatible server for a benchmark: fauxqs in a process of its own (so its CPU is
 * not the measured process's), objects on disk in a temp directory, one bucket.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');

export interface BenchS3 {
  endpoint: string;
  bucket: string;
  /** FILE_STORE=s3 and the S3_* / AWS_* variables a Tally process takes. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startBenchS3(): Promise<BenchS3> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-bench-s3-'));
  const bucket = 'tally-bench';
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/support/s3-server-child.ts', dir, bucket], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve) =>
    proc.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: {
      FILE_STORE: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
    },
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
