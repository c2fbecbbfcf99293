import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { QUEUED_AGAIN } from './queued-again.ts';

/**
 * Puts a waiting or running job back to `queued` from scratch, clearing its attempt token:
 * an attempt still alive somewhere is fenced off (its next write matches no row) and the
 * next attempt starts from the first byte. `attempts` keeps counting. Returns false when
 * the job is no longer waiting or running.
 */
export async function requeueJob(db: Kysely<Database>, jobId: string): Promise<boolean> {
  const row = await db
    .updateTable('jobs')
    .set(QUEUED_AGAIN)
    .where('id', '=', jobId)
    .where('state', 'in', ['queued', 'running'])
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}
