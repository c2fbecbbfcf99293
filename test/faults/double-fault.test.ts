import { describe, expect, it } from 'vitest';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { generateCsv } from '../support/sources.ts';
import { waitUntil } from '../support/wait-until.ts';
import { useWorkerFleet } from '../support/worker-fleet.ts';
import { expireClaim as expireClaimOf } from './expire-claim.ts';

// Two faults on one job, with real processes: worker A freezes (SIGSTOP) and loses the job
// to worker B; A wakes while B is killed -9. A's superseded attempt must not settle B's
// pg-boss entry (pg-boss 12 fences completion by id and retry count), so the queue
// retries B's attempt and the job completes exactly once, with exact figures.
//
// Claims are expired by backdating the heartbeat and asking pg-boss's supervisor for a
// pass, not by waiting out JOB_HEARTBEAT_SECONDS.

const fleet = useWorkerFleet({ JOB_HEARTBEAT_SECONDS: '10', WORKER_CONCURRENCY: '1' });

const expireClaim = (jobId: string) => expireClaimOf(fleet, jobId);

const entryOf = async (jobId: string) =>
  (await fleet.sql.query('select state, retry_count from pgboss.job where id = $1', [jobId])).rows;

const progressOf = async (jobId: string) =>
  (await fleet.sql.query('select attempts, bytes_processed from jobs where id = $1', [jobId])).rows[0] as {
    attempts: number;
    bytes_processed: number;
  };

describe('a frozen worker superseded, then the worker that took over killed -9', () => {
  // Its own timeout: two faults and their recoveries: ~62 s measured under load 16.
  it('completes the job exactly once with exact figures', async () => {
    const a = fleet.worker(['--throttle', '4096:10']); // ~400 KB/s
    await a.waitForLog(/tally started/);
    const { csv, revenueCents } = generateCsv(40_000); // ~1.2 MB: seconds at that speed
    const { body } = await postCsv(fleet.api.url, csv);
    const jobId = body.jobId as string;
    await fleet.waitForBytesProcessed(jobId, 0);
    a.kill('SIGSTOP');
    await expireClaim(jobId);

    const b = fleet.worker(['--throttle', '4096:10']);
    await waitUntil(
      async () => {
        const p = await progressOf(jobId);
        return p.attempts === 2 && p.bytes_processed > 100_000;
      },
      { what: 'worker B to be well into the file (attempt 2)', intervalMs: 20 },
    );
    expect(await entryOf(jobId)).toEqual([{ state: 'active', retry_count: 1 }]);
    b.kill('SIGKILL');
    await b.exited;

    a.kill('SIGCONT'); // A wakes holding attempt 1's stale token and pg-boss claim
    // A learns it lost the job (its progress write is fenced off, or pg-boss's claim check
    // aborts it) and says so; it never reads its loss as a failure to retry.
    await a.waitForLog(/cancelled or taken over|result discarded/, 30_000);
    expect(a.logs.some((l) => l.includes('pg-boss will retry'))).toBe(false);
    await expireClaim(jobId); // B's claim: B is dead, so its heartbeat is lost
    const done = await waitForFinal(fleet.api.url, jobId, {}, 60_000);
    expect(done).toMatchObject({ state: 'completed', attempts: 3, error: null });
    const result = (await trpcQuery(fleet.api.url, 'jobs.result', { jobId })).body.result.data;
    expect(result.currencies[0].totals.revenue).toBe(revenueCents / 100);
    expect(result.rows.total).toBe(40_000);

    // The entry pg-boss completed is B's, retried (retry count 2), not one A settled or a
    // rescue re-made; one attempt of one process wrote the result.
    await waitUntil(async () => (await entryOf(jobId))[0]?.state === 'completed', {
      what: "pg-boss's entry to be completed",
    });
    expect(await entryOf(jobId)).toEqual([{ state: 'completed', retry_count: 2 }]);
    const completions = [...a.logs, ...b.logs].filter((l) => l.includes('"msg":"job completed"'));
    expect(completions).toHaveLength(1);
    expect([...a.logs, ...b.logs].some((l) => l.includes('queued again'))).toBe(false);
  }, 120_000);
});
