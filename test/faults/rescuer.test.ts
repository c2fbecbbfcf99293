import { describe, expect, it } from 'vitest';
import { RETRIES_EXHAUSTED_MESSAGE } from '../../src/db/jobs/give-up-job.ts';
import { createRescuer } from '../../src/job-lifecycle/rescue-stranded-jobs.ts';
import { createLogger } from '../../src/logger.ts';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { insertTestJob } from '../support/job-factory.ts';
import { generateCsv } from '../support/sources.ts';
import { useTestTallies } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';

// The rescuer's invariant, with the damage written directly (as a crash would leave it)
// instead of waited for: every queued or running job has a live pg-boss entry, or one pass
// gives it one (attempts left) or a final state.

const start = useTestTallies();

/** An API (no workers, so nothing runs until the test says) and one job per CSV. */
async function apiWithJobs(csvs: string[]) {
  const api = await start({ role: 'api', env: { JOB_RETRY_LIMIT: '2' } });
  const ids: string[] = [];
  for (const csv of csvs) ids.push((await postCsv(api.url, csv)).body.jobId as string);
  return { api, sql: api.database.sql, ids };
}

describe('the rescuer', () => {
  it('queues again a running job whose entry was completed under it, and it completes once with exact figures', async () => {
    const { csv, revenueCents } = generateCsv(2_000);
    const { api, sql, ids } = await apiWithJobs([csv]);
    const [jobId] = ids as [string];
    // What a superseded attempt completing the entry by id (while the newer attempt ran)
    // and then the newer attempt's kill -9 leave: our row running, the entry completed.
    await sql.query(
      `update jobs set state = 'running', attempts = 2, attempt_token = gen_random_uuid(), bytes_processed = 1000
        where id = $1`,
      [jobId],
    );
    await sql.query(`update pgboss.job set state = 'completed', completed_on = now() where id = $1`, [jobId]);

    const worker = await start({
      role: 'worker',
      database: api.database,
      env: { JOB_RETRY_LIMIT: '2' },
    });
    expect(await worker.maintenance!.rescuer.runOnce()).toEqual({ requeued: [jobId], failed: [] });
    const done = await waitForFinal(api.url, jobId);
    expect(done).toMatchObject({ state: 'completed', attempts: 3, error: null });
    const result = await trpcQuery(api.url, 'jobs.result', { jobId });
    expect(result.body.result.data.currencies[0].totals.revenue).toBe(revenueCents / 100);
    expect(result.body.result.data.rows.total).toBe(2_000);
    // Nothing left to rescue, and the one entry is settled.
    expect(await worker.maintenance!.rescuer.runOnce()).toEqual({ requeued: [], failed: [] });
    // (pg-boss hears the handler return a moment after our row turned completed.)
    await waitUntil(
      async () => {
        const { rows } = await sql.query(`select state, retry_count from pgboss.job where id = $1`, [jobId]);
        return rows.length === 1 && rows[0].state === 'completed' && rows[0].retry_count === 0;
      },
      { what: 'the one fresh entry to be completed' },
    );
  });

  it('gives up a job without an entry and without attempts left; leaves jobs with a live entry alone', async () => {
    const csv = generateCsv(10).csv;
    const { api, sql, ids } = await apiWithJobs([csv, csv, csv]);
    const [waiting, retrying, active] = ids as [string, string, string];
    // gone: running after its last attempt died, and no entry (deleted by hand, or by pg-boss
    // retention): the factory writes none.
    const gone = await insertTestJob(sql, { state: 'running', attempts: 3, csv });
    // Live entries in each state pg-boss will still run from.
    await sql.query(`update pgboss.job set state = 'retry' where id = $1`, [retrying]);
    await sql.query(`update jobs set state = 'running', attempts = 1 where id = $1`, [active]);
    await sql.query(`update pgboss.job set state = 'active', started_on = now() where id = $1`, [active]);

    // The rescuer alone, on the API's connections: no worker may take the live entries.
    const rescuer = createRescuer(
      { db: api.db, boss: api.boss, log: createLogger('silent') },
      { batchSize: 2, maxBatches: 10, maxAttempts: 3 },
    );
    const before = await sql.query(`select id, state, version from jobs where id <> $1 order by id`, [gone]);
    const pass = await rescuer.runOnce();
    expect(pass).toEqual({ requeued: [], failed: [gone] });
    const status = (await trpcQuery(api.url, 'jobs.status', { jobId: gone })).body.result.data;
    expect(status).toMatchObject({
      state: 'failed',
      error: { code: 'RETRIES_EXHAUSTED', message: RETRIES_EXHAUSTED_MESSAGE },
    });
    const after = await sql.query(`select id, state, version from jobs where id <> $1 order by id`, [gone]);
    expect(after.rows).toEqual(before.rows);
    expect(after.rows.map((r) => r.id)).toEqual([waiting, retrying, active].sort());
  });
});
