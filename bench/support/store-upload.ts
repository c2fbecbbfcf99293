/**
 * Stores a file as a job exactly as an upload does (staged 1 MiB chunks, then the upload
 * transaction), without HTTP: for the benchmarks that time what comes after the upload.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PgBoss } from 'pg-boss';
import { ChunkSink } from '../../src/api/upload/chunk-sink.ts';
import { recordUpload, type RecordedUpload } from '../../src/api/upload/record-upload.ts';
import { sniffUpload } from '../../src/api/upload/sniff-upload.ts';
import { UploadStaging } from '../../src/api/upload/upload-staging.ts';
import type { Db } from '../../src/db/database.ts';
import { createLogger } from '../../src/logger.ts';

export async function storeUpload(
  deps: { db: Db; boss: PgBoss },
  file: { path: string } | { content: Buffer },
  filename = 'bench.csv',
): Promise<RecordedUpload> {
  const staging = new UploadStaging(deps.db, 120_000, createLogger('silent'));
  try {
    const sink = new ChunkSink(staging);
    await pipeline('path' in file ? createReadStream(file.path) : Readable.from([file.content]), sink);
    const received = { filename, optionsText: undefined, file: sink.result() };
    return await recordUpload(deps, {
      jobId: staging.id,
      owner: 'bench',
      idempotencyKey: undefined,
      received,
      sniffed: await sniffUpload(received.file.head, {}),
      options: {},
    });
  } finally {
    staging.stop();
  }
}
