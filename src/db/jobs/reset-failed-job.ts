import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Puts a failed job whose bytes are still stored back to `queued`, with its error, result
 * and timings cleared; `attempts` keeps counting, so the row shows that it ran before.
 * Returns the job's owner, or undefined (and changes nothing) for any other job.
 */
export async function resetFailedJob(db: Kysely<Database>, jobId: string): Promise<string | undefined> {
  const reset = await db
    .updateTable('jobs')
    .set({
      state: 'queued',
      error_code: null,
      error_message: null,
      error_details: null,
      result: null,
      attempt_token: null,
      started_at: null,
      finished_at: null,
      bytes_processed: 0,
      rows_processed: 0,
    })
    .where('id', '=', jobId)
    .where('state', '=', 'failed')
    .where('file_deleted_at', 'is', null)
    .returning('owner')
    .executeTakeFirst();
  return reset?.owner;
}
