import { describe, expect, it } from 'vitest';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { generateCsv } from '../support/sources.ts';
import { useWorkerFleet } from '../support/worker-fleet.ts';
import { expireClaim } from './expire-claim.ts';

// A worker cut off longer than its heartbeat (here: frozen with SIGSTOP, as a long GC
// pause, a stalled VM or a network partition would) comes back and tries to go on. The
// job was meanwhile given to another worker; the stale attempt's writes are refused by
// the attempt token and logged, and the result stays the one the other worker wrote.

const fleet = useWorkerFleet({ JOB_HEARTBEAT_SECONDS: '10', WORKER_CONCURRENCY: '1' });

describe('a worker frozen past its heartbeat', () => {
  // Its own timeout: waits out a frozen worker's heartbeat expiry: ~55 s measured under load 16.
  it('is fenced off when it wakes: its late writes change nothing', async () => {
    const frozen = fleet.worker(['--throttle', '8192:10']);
    await frozen.waitForLog(/tally started/);

    const { csv, revenueCents } = generateCsv(20_000); // ~600 KB: ~0.8 s at 800 KB/s
    const { body } = await postCsv(fleet.api.url, csv);
    await fleet.waitForBytesProcessed(body.jobId, 0);
    frozen.kill('SIGSTOP');
    await expireClaim(fleet, body.jobId); // its heartbeat lost, now rather than in 10 s

    fleet.worker(); // takes the job over
    const done = await waitForFinal(fleet.api.url, body.jobId, {}, 60_000);
    expect(done).toMatchObject({ state: 'completed', attempts: 2 });
    const before = await fleet.sql.query('select result, version, rows_processed from jobs where id = $1', [
      body.jobId,
    ]);

    frozen.kill('SIGCONT'); // it wakes mid-file and carries on, holding a stale token
    // It notices one of three ways: its progress write is refused, its result is refused,
    // or (seen at load ~20) pg-boss's own claim check fires first and the attempt takes
    // the transient-failure path. Then it is stopped and waited for, so every write it
    // could still try (the hand-back on that path comes after its log line) is done.
    await frozen.waitForLog(
      /cancelled or taken over|result discarded|no longer active under this worker's claim/,
      30_000,
    );
    frozen.kill('SIGTERM');
    await frozen.exited;
    const after = await fleet.sql.query('select result, version, rows_processed from jobs where id = $1', [
      body.jobId,
    ]);
    expect(after.rows[0]).toEqual(before.rows[0]);
    const result = await trpcQuery(fleet.api.url, 'jobs.result', { jobId: body.jobId });
    expect(result.body.result.data.currencies[0].totals.revenue).toBe(revenueCents / 100);
  }, 120_000);
});
