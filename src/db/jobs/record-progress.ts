import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Writes progress for the attempt holding `token`. Returns false when the attempt no
 * longer owns the job (cancelled, or fenced off by a newer attempt): the caller stops.
 */
export async function recordProgress(
  db: Kysely<Database>,
  jobId: string,
  token: string,
  progress: { bytesProcessed: number; rowsProcessed: number },
): Promise<boolean> {
  const row = await db
    .updateTable('jobs')
    .set({ bytes_processed: progress.bytesProcessed, rows_processed: progress.rowsProcessed })
    .where('id', '=', jobId)
    .where('attempt_token', '=', token)
    .where('state', '=', 'running')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Is this attempt still the job's current, running attempt? */
export async function attemptIsCurrent(db: Kysely<Database>, jobId: string, token: string): Promise<boolean> {
  const row = await db
    .selectFrom('jobs')
    .select('id')
    .where('id', '=', jobId)
    .where('attempt_token', '=', token)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return row !== undefined;
}
