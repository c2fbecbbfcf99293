import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { QUEUED_AGAIN } from './queued-again.ts';

export type AttemptEnd =
  | { state: 'completed'; result: unknown; bytesProcessed: number; rowsProcessed: number }
  | { state: 'failed'; code: string; message: string; details?: unknown }
  /** Hand the job back to the queue (transient error, shutdown) for pg-boss to retry. */
  | { state: 'queued' };

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
  const row = await query.returning('id').executeTakeFirst();
  return row !== undefined;
}
