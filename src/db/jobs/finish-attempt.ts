import { sql, type Kysely } from 'kysely';
import type { HeldEntry } from '../../queue/settled-ahead.ts';
import type { Database } from '../schema.ts';
import { QUEUED_AGAIN } from './queued-again.ts';

export type AttemptEnd =
  | { state: 'completed'; result: unknown; bytesProcessed: number; rowsProcessed: number }
  | { state: 'failed'; code: string; message: string; details?: unknown }
  /** Hand the job back to the queue (transient error, shutdown) for pg-boss to retry. */
  | { state: 'queued' };

/** Whether the attempt's write won, and whether its pg-boss entry was completed with it. */
export interface AttemptEnded {
  won: boolean;
  entrySettled: boolean;
}

/**
 * Ends an attempt in ONE statement guarded by its token: the result and the final state
 * land together or not at all, and a stale attempt (fenced off by a newer claim, or the
 * job cancelled meanwhile) writes nothing. Returns whether this attempt's write won.
 */
export async function finishAttempt(
  db: Kysely<Database>,
  jobId: string,
  token: string,
  outcome: AttemptEnd,
): Promise<boolean> {
  return (await endAttempt(db, jobId, token, outcome)).won;
}

/**
 * finishAttempt, and for a final state (completed, failed) the completion of the attempt's
 * pg-boss entry `entry` in the same statement, as pg-boss's `complete` would make it once
 * the handler returns (plans.js `completeJobs`, fenced by attempt: the entry still active
 * at the retry count it was fetched at). The entry is completed whether or not the job's
 * write won, as pg-boss completes it after a handler that returns either way
 * (worker/run-analysis-job.ts). queue/settled-ahead.ts then answers pg-boss's own
 * completion without a round trip.
 */
export async function endAttempt(
  db: Kysely<Database>,
  jobId: string,
  token: string,
  outcome: AttemptEnd,
  entry?: HeldEntry,
): Promise<AttemptEnded> {
  const base = db
    .updateTable('jobs')
    .where('id', '=', jobId)
    .where('attempt_token', '=', token)
    .where('state', '=', 'running');
  let query;
  switch (outcome.state) {
    case 'completed':
      query = base.set({
        state: 'completed',
        result: JSON.stringify(outcome.result),
        bytes_processed: outcome.bytesProcessed,
        rows_processed: outcome.rowsProcessed,
        finished_at: sql`now()`,
        attempt_token: null,
        error_code: null,
        error_message: null,
        error_details: null,
      });
      break;
    case 'failed':
      query = base.set({
        state: 'failed',
        finished_at: sql`now()`,
        attempt_token: null,
        error_code: outcome.code,
        error_message: outcome.message,
        error_details: outcome.details === undefined ? null : JSON.stringify(outcome.details),
      });
      break;
    case 'queued':
      query = base.set(QUEUED_AGAIN);
      break;
  }
  if (entry === undefined || outcome.state === 'queued') {
    const row = await query.returning('id').executeTakeFirst();
    return { won: row !== undefined, entrySettled: false };
  }
  const { schema, table } = entry;
  const row = await db
    .with('ended', () => query.returning('id'))
    .with(
      'settled(id)',
      () => sql<{ id: string }>`(update ${sql.table(`${schema}.${table}`)}
        set completed_on = ${sql.raw(`${schema}.job_now()`)}, state = 'completed', output = null
        where name = ${entry.queue} and id = ${entry.id}::uuid and state = 'active'
          and retry_count = ${entry.retryCount}
        returning id)`, // kysely puts no parentheses around a raw common table expression
    )
    .selectNoFrom((eb) => [
      eb.exists(eb.selectFrom('ended').select('id')).as('won'),
      eb.exists(eb.selectFrom('settled').select('id')).as('settled'),
    ])
    .executeTakeFirstOrThrow();
  return { won: Boolean(row.won), entrySettled: Boolean(row.settled) };
}
