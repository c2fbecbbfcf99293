import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Job } from 'pg-boss';
import { describe, expect, it } from 'vitest';
import { analyzeHead } from '../../src/analysis/head.ts';
import type { FirstPartTask, PartTask } from '../../src/analysis/split/analyze-part.ts';
import { addParts, partStatuses, setPartRange } from '../../src/db/jobs/analysis-parts.ts';
import { createStoredFiles } from '../../src/files/create-stored-files.ts';
import { createLogger } from '../../src/logger.ts';
import { firstPartRange } from '../../src/worker/split/first-part-range.ts';
import { runPartJob, type PartJobData } from '../../src/worker/split/run-part-job.ts';
import type { WorkerDeps } from '../../src/worker/worker-deps.ts';
import { useTestDb } from '../support/app-db.ts';
import { insertTestJob } from '../support/job-factory.ts';

// Part 0 of a split starts before the scan has found its end: it reads up to its target,
// then reads its end and CRC-32 from its row (written by the attempt when the scan passed
// them), reads on, and checks its bytes against that CRC-32. Real PostgreSQL, real stored
// chunks.
// A queued part that carries no CRC-32 (an earlier version's, which sent a SHA-256) is never
// read unchecked.

const testDb = useTestDb();
const log = createLogger('silent');

const csv = Buffer.from(
  [
    'date,amount,customer',
    ...Array.from({ length: 400 }, (_, i) => `2024-01-${1 + (i % 28)},${i}.50,c${i}`),
  ].join('\n') + '\n',
);

async function runningJob(): Promise<{ key: { jobId: string; token: string; part: 0 }; deps: WorkerDeps }> {
  const db = testDb.db;
  const jobId = await insertTestJob(db.pool, { state: 'running', csv: csv.toString() });
  const { rows } = await db.pool.query<{ token: string }>(
    'select attempt_token as token from jobs where id = $1',
    [jobId],
  );
  const token = rows[0]!.token;
  await addParts(db.kysely, jobId, token, 0);
  const files = createStoredFiles({ store: 'postgres', stagingLeaseMs: 60_000 }, { db, log });
  // The parts of WorkerDeps a part's range read uses: the database and the stored files.
  return { key: { jobId, token, part: 0 }, deps: { db, files, log } as unknown as WorkerDeps };
}

async function readAll(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of source) pieces.push(piece);
  return Buffer.concat(pieces);
}

describe("a first part's range, its end and CRC-32 written while it reads", () => {
  const end = csv.indexOf('\n', Math.floor(csv.length / 2)) + 1;
  const task: FirstPartTask = {
    head: analyzeHead(csv, {}),
    recordDelimiter: '\n',
    index: 0,
    target: Math.floor(csv.length / 3),
  };
  const ref = (jobId: string) => ({ jobId, bytes: csv.length, sha256: '' });

  it('reads to its target, waits for its end, then reads on to it', async () => {
    const { key, deps } = await runningJob();
    let heard = -1;
    const read = readAll(
      firstPartRange(deps, ref(key.jobId), key, task, AbortSignal.timeout(10_000), (e) => (heard = e)),
    );
    await setPartRange(deps.db.kysely, key, { end, crc32: crc32(csv.subarray(0, end)) });
    expect((await read).equals(csv.subarray(0, end))).toBe(true);
    expect(heard).toBe(end);
  });

  it('fails FILE_CORRUPT when its bytes do not match the CRC-32 the scan took', async () => {
    const { key, deps } = await runningJob();
    await setPartRange(deps.db.kysely, key, { end, crc32: crc32(csv.subarray(0, end)) ^ 1 });
    await expect(
      readAll(firstPartRange(deps, ref(key.jobId), key, task, AbortSignal.timeout(10_000), () => {})),
    ).rejects.toMatchObject({ code: 'FILE_CORRUPT' });
  });
});

describe('a queued part without its CRC-32 (queued by an earlier version, which sent a SHA-256)', () => {
  it('is never read unchecked: retried while pg-boss has retries, then recorded as failed', async () => {
    const { key, deps } = await runningJob();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-part-'));
    try {
      const partDeps = {
        ...deps,
        retryLimit: 2,
        maxRecordBytes: 1024 * 1024,
        spill: { dir, thresholdKeys: 1000, maxBytes: 2 ** 26 },
      } as WorkerDeps;
      const head = analyzeHead(csv, {});
      // An earlier version's task: the range's check was a SHA-256.
      const range = { start: 0, end: csv.length, linesBefore: 0, sha256: 'e3b0c442' };
      const task = { head, recordDelimiter: '\n', index: 0, range } as unknown as PartTask;
      const data: PartJobData = { ...key, task, options: {}, bytes: csv.length, sha256: '' };
      const job = (retryCount: number) =>
        ({
          id: 'part',
          name: 'tally-analysis-part',
          data,
          retryCount,
          signal: new AbortController().signal,
        }) as unknown as Job<PartJobData>;
      await expect(runPartJob(partDeps, job(0))).rejects.toThrow(/without its CRC-32/);
      expect((await partStatuses(deps.db.kysely, key.jobId, key.token))[0]).toMatchObject({
        done: false,
        error: null,
      });
      await runPartJob(partDeps, job(2)); // the last retry: recorded for the attempt to fail the job
      expect((await partStatuses(deps.db.kysely, key.jobId, key.token))[0]).toMatchObject({
        done: false,
        error: { code: 'RETRIES_EXHAUSTED' },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
