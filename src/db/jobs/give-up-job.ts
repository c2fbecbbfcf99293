import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * The message a job given up on carries. Content-free on purpose: the owner reads it, so
 * it never quotes an internal error (a driver's text, a host name, a statement); the
 * cause is in the log of the process that gave up, next to the job id.
 */
export const RETRIES_EXHAUSTED_MESSAGE =
  'The job could not be finished on any of its attempts (the server kept failing, not the file); the cause was logged. Upload the file again or try later.';

/**
 * Ends a waiting or running job `failed` with RETRIES_EXHAUSTED, clearing its attempt
 * token (an attempt still alive is fenced off). Returns false when the job is no longer
 * waiting or running.
 */
export async function giveUpJob(db: Kysely<Database>, jobId: string): Promise<boolean> {
  const row = await db
    .updateTable('jobs')
    .set({
      state: 'failed',
      finished_at: sql`now()`,
      attempt_token: null,
      error_code: 'RETRIES_EXHAUSTED',
      error_message: RETRIES_EXHAUSTED_MESSAGE,
      error_details: null,
    })
    .where('id', '=', jobId)
    .where('state', 'in', ['queued', 'running'])
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}
