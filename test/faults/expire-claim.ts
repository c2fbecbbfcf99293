import type { WorkerFleet } from '../support/worker-fleet.ts';
import { ANALYSIS_QUEUE } from '../../src/queue/boss.ts';

/**
 * What a lost heartbeat leads to, now rather than after JOB_HEARTBEAT_SECONDS: the job's
 * active claim is backdated, pg-boss's supervisor (in the fleet's API process) fails it
 * by heartbeat into `retry`, and the retry is made due at once instead of after its delay.
 */
export async function expireClaim(fleet: WorkerFleet, jobId: string): Promise<void> {
  await fleet.sql.query(
    `update pgboss.job set heartbeat_on = now() - interval '1 hour' where id = $1 and state = 'active'`,
    [jobId],
  );
  await fleet.api.boss.supervise(ANALYSIS_QUEUE);
  await fleet.sql.query(`update pgboss.job set start_after = now() where id = $1 and state = 'retry'`, [
    jobId,
  ]);
}
