import { sql, type RawBuilder } from 'kysely';

/** Counting stops here (queue/fair-share.ts: past it, order is plain FIFO). */
export const TURN_HORIZON = 10_000;

/**
 * The owner's jobs queued or running, up to TURN_HORIZON, as a subquery to put in another
 * statement: the upload's insert counts them in the same round trip (insert-job.ts). Its
 * snapshot is the statement's, so a job the same statement inserts is not among them.
 * jobs_owner_in_flight_idx (migration 0008) holds exactly these rows.
 */
export function jobsInFlight(owner: string): RawBuilder<number> {
  return sql<number>`(select count(*)::int from (select 1 from jobs
    where owner = ${owner} and state in ('queued', 'running') limit ${TURN_HORIZON}) q)`;
}
