import { describe, expect, it } from 'vitest';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { generateCsv } from '../support/sources.ts';
import { waitUntil } from '../support/wait-until.ts';
import { useWorkerFleet } from '../support/worker-fleet.ts';
import { expireClaim } from './expire-claim.ts';

// Real processes, real kill -9. A worker dies mid-job; another worker finishes the job
// with figures identical to an undisturbed run. The lost heartbeat is expired by backdating
// it (expire-claim.ts), not waited for.

const fleet = useWorkerFleet({ JOB_HEARTBEAT_SECONDS: '10', WORKER_CONCURRENCY: '1' });
const worker = (args: string[] = []) => fleet.worker(args);

describe('kill -9 of a worker mid-job', () => {
  // Its own timeout: a worker process killed and another started: ~66 s measured under load 16.
  it('another worker finishes the job with the undisturbed figures', async () => {
    const { csv } = generateCsv(40_000); // ~1.2 MB

    // The undisturbed run, for reference.
    const calm = worker();
    await calm.waitForLog(/tally started/);
    const reference = await postCsv(fleet.api.url, csv);
    await waitForFinal(fleet.api.url, reference.body.jobId);
    const expected = (await trpcQuery(fleet.api.url, 'jobs.result', { jobId: reference.body.jobId })).body
      .result.data;
    calm.kill('SIGTERM');
    expect((await calm.exited).code).toBe(0);

    // A slow worker (~400 KB/s) takes the job; we kill it once it is well into the file.
    const victim = worker(['--throttle', '4096:10']);
    await victim.waitForLog(/tally started/);
    const { body } = await postCsv(fleet.api.url, csv);
    await fleet.waitForBytesProcessed(body.jobId, 200_000);
    victim.kill('SIGKILL');
    await victim.exited;
    // Its heartbeat is lost: expired now rather than waited for (JOB_HEARTBEAT_SECONDS).
    await expireClaim(fleet, body.jobId);

    worker(); // another worker takes the retry
    const status = await waitForFinal(fleet.api.url, body.jobId, {}, 60_000);
    expect(status).toMatchObject({ state: 'completed', attempts: 2, error: null });
    const actual = (await trpcQuery(fleet.api.url, 'jobs.result', { jobId: body.jobId })).body.result.data;
    expect(actual).toEqual(expected);

    // One retry of the one entry: the killed attempt's claim failed, the other worker's
    // completed (a moment after our row: pg-boss hears the handler return after it wrote).
    const entry = async () =>
      (await fleet.sql.query('select state, retry_count from pgboss.job where id = $1', [body.jobId])).rows;
    await waitUntil(async () => (await entry())[0]?.state === 'completed', {
      what: "pg-boss's entry to be completed",
    });
    expect(await entry()).toEqual([{ state: 'completed', retry_count: 1 }]);
  }, 120_000);
});
