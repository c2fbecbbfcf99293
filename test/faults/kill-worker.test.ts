import { describe, expect, it } from 'vitest';
import { waitUntil } from '../support/wait-until.ts';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { generateCsv } from '../support/sources.ts';
import { useWorkerFleet } from '../support/worker-fleet.ts';

// Real processes, real kill -9. A worker dies mid-job; another worker finishes the job
// with figures identical to an undisturbed run, within the heartbeat-bound pick-up time.

const HEARTBEAT_SECONDS = 10;
const fleet = useWorkerFleet({ JOB_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS), WORKER_CONCURRENCY: '1' });
const worker = (args: string[] = []) => fleet.worker(args);

describe('kill -9 of a worker mid-job', () => {
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
    const killedAt = Date.now();
    await victim.exited;

    const rescuer = worker();
    await rescuer.waitForLog(/tally started/);
    const pickedUpAt = await waitUntil(
      async () => {
        const { rows } = await fleet.sql.query('select attempts from jobs where id = $1', [body.jobId]);
        return rows[0].attempts >= 2 && Date.now();
      },
      { what: 'the rescuer to take the job over (attempt 2)', timeoutMs: 60_000, intervalMs: 100 },
    );
    const status = await waitForFinal(fleet.api.url, body.jobId, {}, 60_000);
    expect(status).toMatchObject({ state: 'completed', attempts: 2, error: null });
    const actual = (await trpcQuery(fleet.api.url, 'jobs.result', { jobId: body.jobId })).body.result.data;
    expect(actual).toEqual(expected);

    // Pick-up is bounded by the heartbeat: missed for HEARTBEAT_SECONDS, noticed at the
    // next supervise pass (5 s), retried after the retry delay (2 s).
    const pickupSeconds = (pickedUpAt - killedAt) / 1000;
    expect(pickupSeconds).toBeLessThan(HEARTBEAT_SECONDS + 5 + 2 + 5);
  });
});
