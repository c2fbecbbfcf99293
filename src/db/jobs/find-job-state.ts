import type { Kysely } from 'kysely';
import type { Database, JobState } from '../schema.ts';

/** A job's state and whether its bytes are gone, whoever owns it (operator commands). */
export function findJobState(
  db: Kysely<Database>,
  jobId: string,
): Promise<{ state: JobState; file_deleted_at: Date | null } | undefined> {
  return db
    .selectFrom('jobs')
    .select(['state', 'file_deleted_at'])
    .where('id', '=', jobId)
    .executeTakeFirst();
}
