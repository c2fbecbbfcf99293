import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface RerunSource {
  id: string;
  bytes: number;
  sha256: string;
  file_deleted_at: Date | null;
}

/**
 * The job a re-run takes its bytes from, read `for key share` inside the re-run's
 * transaction. The retention sweep locks the rows it deletes `for update skip locked`, so
 * it skips a job being re-run right now, and a re-run that arrives while the sweep holds
 * the row waits, then sees `file_deleted_at` set: a job never gets a partial copy. `key
 * share` rather than `share`: it does not hold up the old job's own progress writes if it
 * is still running. Undefined for an unknown job or another owner's.
 */
export function findRerunSource(
  trx: Kysely<Database>,
  owner: string,
  jobId: string,
): Promise<RerunSource | undefined> {
  return trx
    .selectFrom('jobs')
    .select(['id', 'bytes', 'sha256', 'file_deleted_at'])
    .where('id', '=', jobId)
    .where('owner', '=', owner)
    .forKeyShare()
    .executeTakeFirst();
}
