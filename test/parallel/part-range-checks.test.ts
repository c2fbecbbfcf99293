import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Job } from 'pg-boss';
import { describe, expect, it } from 'vitest';
import { analyzeHead } from '../../src/analysis/head.ts';
import { partTask, type PartTask } from '../../src/analysis/split/analyze-part.ts';
import { partTargets, planSplit } from '../../src/analysis/split/plan-split.ts';
import { addParts, finishedFiguresOf, partStatuses } from '../../src/db/jobs/analysis-parts.ts';
import { createStoredFiles } from '../../src/files/create-stored-files.ts';
import { createLogger } from '../../src/logger.ts';
import { runPartJob, type PartJobData } from '../../src/worker/split/run-part-job.ts';
import type { WorkerDeps } from '../../src/worker/worker-deps.ts';
import { useTestDb } from '../support/app-db.ts';
import { insertTestJob } from '../support/job-factory.ts';

// A part of a split reads its range of the stored file and stores its figures, with what the
// merge needs of its bytes: its lines and its CRC-32. Real PostgreSQL, real stored chunks.
// A part queued by an earlier version, whose plan scanned the file, is never read.

const testDb = useTestDb();
const log = createLogger('silent');

const csv = Buffer.from(
  [
    'date,amount,customer',
    ...Array.from({ length: 8000 }, (_, i) => `2024-01-${1 + (i % 28)},${i}.50,c${i}`),
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

/** A part's pg-boss job as runPartJob is handed it. */
function partJob(data: PartJobData, retryCount = 0): Job<PartJobData> {
  return {
    id: 'part',
    name: 'tally-analysis-part',
    data,
    retryCount,
    signal: new AbortController().signal,
  } as unknown as Job<PartJobData>;
}

async function withSpillDir<T>(
  fn: (spill: { dir: string; thresholdKeys: number; maxBytes: number }) => Promise<T>,
) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-part-'));
  try {
    return await fn({ dir, thresholdKeys: 1000, maxBytes: 2 ** 26 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('a part read from its range in the stored file', () => {
  it("stores its figures with its lines counted from its start and its bytes' CRC-32", async () => {
    const { key, deps } = await runningJob();
    const planned = await planSplit(
      (s, e) =>
        (async function* () {
          yield await Promise.resolve(csv.subarray(s, e));
        })(),
      csv.length,
      2,
      {},
    );
    if ('refused' in planned) throw new Error(planned.refused);
    const task = partTask(planned.plan, 1);
    const { start } = task.range;
    expect(start).toBeGreaterThanOrEqual(partTargets(csv.length, 2)[0]!);
    await addParts(deps.db.kysely, key.jobId, key.token, 1);
    await withSpillDir(async (spill) => {
      const partDeps = { ...deps, retryLimit: 2, maxRecordBytes: 1024 * 1024, spill } as WorkerDeps;
      const data: PartJobData = { ...key, part: 1, task, options: {}, bytes: csv.length, sha256: '' };
      await runPartJob(partDeps, partJob(data));
    });
    const [figures] = (await finishedFiguresOf(deps.db.kysely, key.jobId, key.token)).slice(1);
    const rest = csv.subarray(start);
    expect(figures!.figures).toMatchObject({
      total: rest.toString().trim().split('\n').length,
      lines: rest.toString().split('\n').length - 1,
      crc32: crc32(rest),
      encoding: null,
    });
  });
});

describe('a part queued by an earlier version (a scanned plan: lines from the file start, a CRC-32 to check)', () => {
  it('is never read unchecked: retried while pg-boss has retries, then recorded as failed', async () => {
    const { key, deps } = await runningJob();
    await withSpillDir(async (spill) => {
      const partDeps = { ...deps, retryLimit: 2, maxRecordBytes: 1024 * 1024, spill } as WorkerDeps;
      const head = analyzeHead(csv, {});
      // An earlier version's task: its range counted the lines before it and carried a CRC-32.
      const range = { start: 0, end: csv.length, linesBefore: 0, crc32: crc32(csv) };
      const task = { head, recordDelimiter: '\n', index: 0, range } as unknown as PartTask;
      const data: PartJobData = { ...key, task, options: {}, bytes: csv.length, sha256: '' };
      const job = (retryCount: number) => partJob(data, retryCount);
      await expect(runPartJob(partDeps, job(0))).rejects.toThrow(/queued by an earlier version/);
      expect((await partStatuses(deps.db.kysely, key.jobId, key.token))[0]).toMatchObject({
        done: false,
        error: null,
      });
      await runPartJob(partDeps, job(2)); // the last retry: recorded for the attempt to fail the job
      expect((await partStatuses(deps.db.kysely, key.jobId, key.token))[0]).toMatchObject({
        done: false,
        error: { code: 'RETRIES_EXHAUSTED' },
      });
    });
  });
});
