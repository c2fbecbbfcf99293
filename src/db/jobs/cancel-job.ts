import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Cancels a queued or running job of `owner`. Clearing the attempt token is what stops a
 * running worker: its next progress write matches no row and it aborts. A finished job is
 * left as it is. Returns whether the job exists for this owner.
 */
export async function cancelJob(db: Kysely<Database>, owner: string, jobId: string): Promise<boolean> {
  const cancelled = await db
    .updateTable('jobs')
    .set({
      state: 'cancelled',
      finished_at: sql`now()`,
      attempt_token: null,
      error_code: 'CANCELLED',
      error_message: 'The job was cancelled by its owner.',
    })
    .where('id', '=', jobId)
    .where('owner', '=', owner)
    .where('state', 'in', ['queued', 'running'])
    .returning('id')
    .executeTakeFirst();
  if (cancelled) return true;
  const exists = await db
    .selectFrom('jobs')
    .select('id')
    .where('id', '=', jobId)
    .where('owner', '=', owner)
    .executeTakeFirst();
  return exists !== undefined;
}
