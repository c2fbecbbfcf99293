import { randomUUID } from 'node:crypto';
import type { Job, PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/database.ts';
import { endAttempts, type FinalEnd } from '../../src/db/jobs/end-attempts.ts';
import { endAttempt } from '../../src/db/jobs/finish-attempt.ts';
import { startAttempt } from '../../src/db/jobs/start-attempt.ts';
import { ANALYSIS_QUEUE, BOSS_SCHEMA } from '../../src/queue/boss.ts';
import { BatchEndings } from '../../src/worker/batch-endings.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startOneConnectionBoss } from '../support/one-connection-boss.ts';

// A claim's batch writes its jobs' final states in one statement (src/db/jobs/end-attempts.ts,
// src/worker/batch-endings.ts). Each row must come out as its own statement (endAttempt)
// would have written it: fenced by its own token, its entry completed by its own attempt.

let database: TestDatabase;
let db: Db;
let boss: PgBoss;
let table: string;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb(database.url, { max: 2 });
  boss = await startOneConnectionBoss(database.url);
  table = (await boss.getQueue(ANALYSIS_QUEUE))!.table;
});
afterAll(async () => {
  await boss?.stop({ graceful: false, close: true });
  await db?.close();
  await database?.drop();
});

/** A job running under a fresh token, with its claimed entry. */
async function runningJob(): Promise<{ jobId: string; token: string; job: Job<{ jobId: string }> }> {
  const jobId = randomUUID();
  await database.sql.query(
    `insert into jobs (id, owner, state, filename, bytes, sha256, compression, options, delimiter)
     values ($1, 'owner', 'queued', 'a.csv', 10, repeat('0', 64), 'none', '{}', ',')`,
    [jobId],
  );
  await boss.send(ANALYSIS_QUEUE, { jobId });
  const [job] = await boss.fetch<{ jobId: string }>(ANALYSIS_QUEUE);
  const token = randomUUID();
  await startAttempt(db.kysely, jobId, token);
  return { jobId, token, job: job! };
}

const entryOf = (job: Job) => ({
  schema: BOSS_SCHEMA,
  table,
  queue: ANALYSIS_QUEUE,
  id: job.id,
  retryCount: job.retryCount,
});

/** What a row and its entry hold once its attempt ended (times as "set or not"). */
async function written(jobId: string, entryId: string) {
  const { rows } = await database.sql.query(
    `select j.state, j.result, j.bytes_processed, j.rows_processed, j.error_code, j.error_message,
            j.error_details, j.attempt_token, j.finished_at is not null as finished, e.state as entry
       from jobs j, ${BOSS_SCHEMA}.${table} e where j.id = $1 and e.id = $2`,
    [jobId, entryId],
  );
  return rows[0];
}

const completed = (n: number) =>
  ({
    state: 'completed',
    result: { figure: n, list: [1, 2] },
    bytesProcessed: 10,
    rowsProcessed: n,
  }) as const;
const failed = {
  state: 'failed',
  code: 'NO_AMOUNT_COLUMN',
  message: 'no amount',
  details: { help: 'x' },
} as const;

describe("a batch's final writes in one statement", () => {
  it('write each row and entry as its own statement would', async () => {
    const [a, b, one, two] = [await runningJob(), await runningJob(), await runningJob(), await runningJob()];
    const ended = await endAttempts(db.kysely, [
      { jobId: a.jobId, token: a.token, outcome: completed(3), entry: entryOf(a.job) },
      { jobId: b.jobId, token: b.token, outcome: failed, entry: entryOf(b.job) },
    ]);
    expect(ended).toEqual([
      { won: true, entrySettled: true },
      { won: true, entrySettled: true },
    ]);
    await endAttempt(db.kysely, one.jobId, one.token, completed(3), entryOf(one.job));
    await endAttempt(db.kysely, two.jobId, two.token, failed, entryOf(two.job));
    expect(await written(a.jobId, a.job.id)).toEqual(await written(one.jobId, one.job.id));
    expect(await written(b.jobId, b.job.id)).toEqual(await written(two.jobId, two.job.id));
    expect(await written(a.jobId, a.job.id)).toMatchObject({ state: 'completed', entry: 'completed' });
    expect(await written(b.jobId, b.job.id)).toMatchObject({ state: 'failed', entry: 'completed' });
  });

  it('fence each row by its own token and each entry by its own attempt', async () => {
    const [mine, lost, cancelled] = [await runningJob(), await runningJob(), await runningJob()];
    // Another attempt took `lost` over (a new token), and `cancelled` was cancelled.
    await startAttempt(db.kysely, lost.jobId, randomUUID());
    await database.sql.query(`update jobs set state = 'cancelled', attempt_token = null where id = $1`, [
      cancelled.jobId,
    ]);
    const stale = { ...entryOf(mine.job), retryCount: mine.job.retryCount + 1 };
    const ends: FinalEnd[] = [
      { jobId: mine.jobId, token: mine.token, outcome: completed(1), entry: stale },
      { jobId: lost.jobId, token: lost.token, outcome: completed(2), entry: entryOf(lost.job) },
      { jobId: cancelled.jobId, token: cancelled.token, outcome: failed, entry: entryOf(cancelled.job) },
    ];
    expect(await endAttempts(db.kysely, ends)).toEqual([
      { won: true, entrySettled: false }, // its entry at another retry count: not this attempt's
      { won: false, entrySettled: true }, // entries complete either way, as pg-boss's would
      { won: false, entrySettled: true },
    ]);
    expect(await written(lost.jobId, lost.job.id)).toMatchObject({ state: 'running', result: null });
    expect(await written(cancelled.jobId, cancelled.job.id)).toMatchObject({ state: 'cancelled' });
    expect(await written(mine.jobId, mine.job.id)).toMatchObject({ state: 'completed', entry: 'active' });
  });

  it('hold each write until the batch is sent, then answer each; a later write goes alone', async () => {
    const [a, b, c] = [await runningJob(), await runningJob(), await runningJob()];
    const endings = new BatchEndings(db.kysely);
    const heldB = endings.held(b.job.id);
    const writeA = endings.add({
      jobId: a.jobId,
      token: a.token,
      outcome: completed(1),
      entry: entryOf(a.job),
    });
    const writeB = endings.add({ jobId: b.jobId, token: b.token, outcome: failed, entry: entryOf(b.job) });
    await heldB;
    await endings.held(a.job.id); // already held: resolves at once
    expect(await written(a.jobId, a.job.id)).toMatchObject({ state: 'running' }); // nothing sent yet
    await endings.flush();
    expect(await Promise.all([writeA, writeB])).toEqual([
      { won: true, entrySettled: true },
      { won: true, entrySettled: true },
    ]);
    const { rows } = await database.sql.query<{ n: number }>(
      `select count(distinct finished_at)::int as n from jobs where id = any($1)`,
      [[a.jobId, b.jobId]],
    );
    expect(rows[0]?.n).toBe(1); // one statement, one now()
    await expect(
      endings.add({ jobId: c.jobId, token: c.token, outcome: completed(2), entry: entryOf(c.job) }),
    ).resolves.toEqual({ won: true, entrySettled: true });
  });
});
