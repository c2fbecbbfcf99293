import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findJobStatusRow } from '../../src/db/jobs/find-job.ts';
import { toJobStatus } from '../../src/jobs/job-status.ts';
import { trpcQuery } from '../support/http.ts';
import { queuedJob } from '../support/queued-job.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';

// A change's NOTIFY carries the status row (migration 0012): the API's status cache takes
// it, so a client watching a job reads PostgreSQL once, not once per change — and what it is
// told must be exactly what a read of the row would have said. A row too long for a
// notification comes without it, and the cache reads the row again.

const WAIT_MS = 20_000;
let tally: TestTally;
let sql: pg.Pool;
/** Status SELECTs per job, counted by the API's own hook. */
const reads = new Map<string, number>();

beforeAll(async () => {
  tally = await startTestTally({
    role: 'api', // no worker: only the test changes the job
    apiHooks: {
      afterStatusRead: (jobId) => {
        reads.set(jobId, (reads.get(jobId) ?? 0) + 1);
        return Promise.resolve();
      },
    },
  });
  sql = tally.database.sql;
});
afterAll(async () => {
  await tally?.stop();
});

/** The status as a fresh read of the row builds it (the cache is not asked). */
async function statusFromTheRow(jobId: string) {
  const { rows } = await sql.query<{ owner: string }>('select owner from jobs where id = $1', [jobId]);
  const row = await findJobStatusRow(tally.db, rows[0]!.owner, jobId);
  return JSON.parse(JSON.stringify(toJobStatus(row!))) as unknown;
}

/** A long poll from `version`, held by the server before `change` runs; its answer. */
async function longPollAcross(jobId: string, version: number, change: () => Promise<unknown>) {
  const longPoll = trpcQuery(tally.url, 'jobs.status', { jobId, waitMs: WAIT_MS, knownVersion: version });
  await waitUntil(
    async () => /^tally_long_polls 1$/m.test(await (await fetch(`${tally.url}/metrics`)).text()),
    { what: 'the long poll to be held', intervalMs: 5 },
  );
  await change();
  const answer = await longPoll;
  expect(answer.status).toBe(200);
  return answer.body.result.data as { version: number };
}

it('answers a watcher from the notified row, exactly as the row reads, without reading it again', async () => {
  const { jobId, version } = await queuedJob(tally);
  expect((await trpcQuery(tally.url, 'jobs.status', { jobId })).body.result.data).toEqual(
    await statusFromTheRow(jobId),
  );
  expect(reads.get(jobId)).toBe(1);

  const running = await longPollAcross(jobId, version, () =>
    sql.query(
      `update jobs set state = 'running', attempts = 1, started_at = now(),
              bytes_processed = 7, rows_processed = 3 where id = $1`,
      [jobId],
    ),
  );
  expect(running.version).toBe(version + 1);
  expect(running).toEqual(await statusFromTheRow(jobId));

  const failed = await longPollAcross(jobId, version + 1, () =>
    sql.query(
      `update jobs set state = 'failed', finished_at = now(), error_code = 'BAD_CSV',
              error_message = 'Row 2: “amount” is not a number.',
              error_details = '{"line": 2, "help": ["Fix it", "ünïcödé"]}'::jsonb where id = $1`,
      [jobId],
    ),
  );
  expect(failed.version).toBe(version + 2);
  expect(failed).toEqual(await statusFromTheRow(jobId));
  // Two changes, both from their notifications: still the one SELECT of the first read.
  expect(reads.get(jobId)).toBe(1);
});

it('reads the row again when it was too long for its notification', async () => {
  const { jobId, version } = await queuedJob(tally);
  await trpcQuery(tally.url, 'jobs.status', { jobId });
  expect(reads.get(jobId)).toBe(1);
  const answer = await longPollAcross(jobId, version, () =>
    sql.query(
      `update jobs set state = 'failed', finished_at = now(), error_code = 'BAD_CSV', error_message = 'long',
              error_details = jsonb_build_object('help', repeat('x', 9000)) where id = $1`,
      [jobId],
    ),
  );
  expect(answer.version).toBe(version + 1);
  expect(answer).toEqual(await statusFromTheRow(jobId));
  expect(reads.get(jobId)).toBe(2);
});
