import { sql, type QueryExecutorProvider, type RawBuilder } from 'kysely';

/**
 * Owners take turns: pg-boss hands out queued jobs by `priority desc, created_on`,
 * so a job is sent with priority -k, k being the owner's other jobs in flight (queued or
 * running). With two workers busy on owner A's first jobs, A's 198 queued ones hold
 * priorities -2 … -199; owner B's one job, sent later, gets 0 and goes ahead of all of them,
 * so it starts at the next free worker (within the time of one of A's jobs), while A alone
 * still uses every worker. Counting stops at TURN_HORIZON: past it, order is plain FIFO.
 * (Running jobs count: counting only queued ones gave A's first queued job priority 0, a tie
 * that B, sent later, lost — test/queue/fair-share.test.ts went red on exactly that.)
 *
 * The group (the owner) is what pg-boss's `groupConcurrency` caps when
 * WORKER_MAX_RUNNING_PER_OWNER is set (start-workers.ts); sent always, so turning the cap
 * on applies to jobs already queued. Turns are the default rather than the cap: a cap
 * below the worker count leaves workers idle while one owner alone has a backlog, and
 * pg-boss's capped fetch walks past every queued job of a capped owner on each fetch.
 */
const TURN_HORIZON = 10_000;

export interface FairShareSendOptions {
  priority: number;
  group: { id: string };
}

/** The send options of a job whose owner has `othersInFlight` other jobs queued or running. */
export function fairShareFor(owner: string, othersInFlight: number): FairShareSendOptions {
  return { priority: -othersInFlight, group: { id: owner } };
}

/**
 * fairShareFor's priority in SQL, from a count made in the same statement (a new job's
 * statement counts and sends at once: db/jobs/insert-job-with-entry.ts).
 */
export function fairSharePriority(othersInFlight: RawBuilder<number>): RawBuilder<number> {
  return sql<number>`(-${othersInFlight})`;
}

/**
 * Call inside the transaction that queued the job's row (it counts itself); any Kysely or
 * transaction runs it. A new upload's count rides with its insert instead (insert-job.ts).
 */
export async function fairShareSendOptions(
  trx: QueryExecutorProvider,
  owner: string,
): Promise<FairShareSendOptions> {
  const { rows } = await sql<{ in_flight: number }>`select ${jobsInFlight(owner)} as in_flight`.execute(trx);
  return fairShareFor(owner, Math.max(0, (rows[0]?.in_flight ?? 1) - 1));
}

/**
 * The owner's jobs queued or running, up to TURN_HORIZON, as a subquery to put in another
 * statement: a new upload's insert counts them in its own round trip (db/jobs/insert-job.ts,
 * the S3 store's adopt). Its snapshot is the statement's, so a job the same statement inserts
 * is not among them. jobs_owner_in_flight_idx (migration 0008) holds exactly these rows.
 */
export function jobsInFlight(owner: string): RawBuilder<number> {
  return sql<number>`(select count(*)::int from (select 1 from jobs
    where owner = ${owner} and state in ('queued', 'running') limit ${TURN_HORIZON}) q)`;
}
