import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/database.ts';
import {
  createParts,
  deleteParts,
  finishPart,
  finishedFiguresOf,
  partFiguresOf,
  partRunsOf,
  partStatuses,
  recordPartProgress,
  startPart,
} from '../../src/db/jobs/analysis-parts.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { insertTestJob } from '../support/job-factory.ts';
import { RunPrefetch } from '../../src/worker/split/run-prefetch.ts';

// The attempt's fence holds for its parts: once a newer attempt (or a cancel) has the job,
// nothing a part of the older attempt writes counts, and the newer attempt's parts start clean.

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb(database.url, { max: 2 });
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

async function runningJob(): Promise<{ jobId: string; token: string }> {
  const jobId = await insertTestJob(database.sql, { state: 'running' });
  const { rows } = await database.sql.query('select attempt_token from jobs where id = $1', [jobId]);
  return { jobId, token: rows[0].attempt_token as string };
}

const run = { currency: 'USD', table: 'customers', bounds: Buffer.alloc(8), data: Buffer.from('run') };

describe('the parts of a split job under the attempt fence', () => {
  it('stores a part of the current attempt, and nothing of a superseded one', async () => {
    const { jobId, token } = await runningJob();
    await createParts(db.kysely, jobId, token, 2);
    const k0 = { jobId, token, part: 0 };
    expect(await startPart(db.kysely, k0)).toBe(true);
    expect(await recordPartProgress(db.kysely, k0, { bytesProcessed: 10, rowsProcessed: 2 })).toBe(true);
    expect(await finishPart(db.kysely, k0, { figures: { total: 2 }, bytes: 10, rows: 2, runs: [run] })).toBe(
      true,
    );

    // A newer attempt takes the job: the old token's parts can no longer start, report or finish.
    const newer = randomUUID();
    await database.sql.query('update jobs set attempt_token = $2 where id = $1', [jobId, newer]);
    const k1 = { jobId, token, part: 1 };
    expect(await startPart(db.kysely, k1)).toBe(false);
    expect(await recordPartProgress(db.kysely, k1, { bytesProcessed: 5, rowsProcessed: 1 })).toBe(false);
    expect(await finishPart(db.kysely, k1, { figures: { total: 9 }, bytes: 5, rows: 9, runs: [run] })).toBe(
      false,
    );
    expect((await partStatuses(db.kysely, jobId, token)).map((s) => s.done)).toEqual([true, false]);
    expect(await partRunsOf(db.kysely, k1)).toEqual([]);

    // The newer attempt's split replaces the old rows; its merge sees only its own parts.
    await createParts(db.kysely, jobId, newer, 2);
    expect(await partFiguresOf(db.kysely, jobId, token)).toEqual([]);
    expect(await partFiguresOf(db.kysely, jobId, newer)).toEqual([null, null]);
    await deleteParts(db.kysely, jobId, newer);
  });

  it('refuses every part of a cancelled job', async () => {
    const { jobId, token } = await runningJob();
    await createParts(db.kysely, jobId, token, 1);
    await database.sql.query(`update jobs set state = 'cancelled', finished_at = now() where id = $1`, [
      jobId,
    ]);
    const k = { jobId, token, part: 0 };
    expect(await recordPartProgress(db.kysely, k, { bytesProcessed: 1, rowsProcessed: 1 })).toBe(false);
    expect(await finishPart(db.kysely, k, { figures: {}, bytes: 1, rows: 1, runs: [] })).toBe(false);
  });

  it('starts a retried part over: its figures and runs from the crashed try are gone', async () => {
    const { jobId, token } = await runningJob();
    await createParts(db.kysely, jobId, token, 1);
    const k = { jobId, token, part: 0 };
    await startPart(db.kysely, k);
    await recordPartProgress(db.kysely, k, { bytesProcessed: 100, rowsProcessed: 7 });
    expect(await startPart(db.kysely, k)).toBe(true); // the retry
    expect(await partStatuses(db.kysely, jobId, token)).toEqual([
      { part: 0, bytes: 0, rows: 0, done: false, error: null },
    ]);
  });

  it('merges the runs of the finish its figures come from, not those fetched before a part started over', async () => {
    const { jobId, token } = await runningJob();
    await createParts(db.kysely, jobId, token, 1);
    const k = { jobId, token, part: 0 };
    const first = { ...run, data: Buffer.from('first try') };
    const second = { ...run, data: Buffer.from('second try') };
    await startPart(db.kysely, k);
    await finishPart(db.kysely, k, { figures: { total: 1 }, bytes: 1, rows: 1, runs: [first] });
    const prefetch = new RunPrefetch(db.kysely, { jobId, token });
    prefetch.note(await partStatuses(db.kysely, jobId, token)); // fetched while "others still run"
    const [before] = await finishedFiguresOf(db.kysely, jobId, token);
    // The part's pg-boss job is delivered again: it starts over and finishes later.
    await startPart(db.kysely, k);
    await finishPart(db.kysely, k, { figures: { total: 1 }, bytes: 1, rows: 1, runs: [second] });
    const [after] = await finishedFiguresOf(db.kysely, jobId, token);
    expect(after!.finishedAt).not.toBe(before!.finishedAt);
    expect((await prefetch.runsOf(0, after!.finishedAt!)).map((r) => r.data.toString())).toEqual([
      'second try',
    ]);
  });
});
