/**
 * Stores a file as a job exactly as an upload does (staged 1 MiB chunks, then the upload
 * transaction), without HTTP: for the benchmarks that time what comes after the upload.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PgBoss } from 'pg-boss';
import { recordUpload, type RecordedUpload } from '../../src/api/upload/record-upload.ts';
import { sniffUpload } from '../../src/api/upload/sniff-upload.ts';
import { StagingSink } from '../../src/api/upload/staging-sink.ts';
import type { Db } from '../../src/db/database.ts';
import type { StoredFiles } from '../../src/files/stored-files.ts';

export async function storeUpload(
  deps: { db: Db; boss: PgBoss; files: StoredFiles },
  file: { path: string } | { content: Buffer },
  filename = 'bench.csv',
): Promise<RecordedUpload> {
  const staging = deps.files.stage();
  let adopted = false;
  try {
    const sink = new StagingSink(staging);
    await pipeline('path' in file ? createReadStream(file.path) : Readable.from([file.content]), sink);
    const received = { filename, optionsText: undefined, file: sink.result() };
    const recorded = await recordUpload(deps, {
      jobId: staging.id,
      owner: 'bench',
      idempotencyKey: undefined,
      received,
      sniffed: await sniffUpload(received.file.head, {}),
      options: {},
    });
    adopted = recorded.created;
    return recorded;
  } finally {
    if (!adopted) await staging.discard();
  }
}
