import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Cancels a queued or running job of `owner`. Clearing the attempt token is what stops a
 * running worker: its next progress write matches no row and it aborts. A finished job is
 * left as it is. Returns whether the job exists for this owner.
 *
 * One statement: the update, and the existence check on the statement's snapshot (a job
 * exists before and after a cancel alike).
 */
export async function cancelJob(db: Kysely<Database>, owner: string, jobId: string): Promise<boolean> {
  const { rows } = await sql<{ exists: boolean }>`
    with cancelled as (
      update jobs set
        state = 'cancelled',
        finished_at = now(),
        attempt_token = null,
        error_code = 'CANCELLED',
        error_message = 'The job was cancelled by its owner.'
      where id = ${jobId} and owner = ${owner} and state in ('queued', 'running')
      returning id
    )
    select exists (select 1 from jobs where id = ${jobId} and owner = ${owner}) as exists
  `.execute(db);
  return rows[0]?.exists === true;
}
