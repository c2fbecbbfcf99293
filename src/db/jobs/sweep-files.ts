import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Deletes the stored bytes of jobs that finished more than `retentionHours` ago; their
 * results and status rows stay. Cancelled and failed jobs' bytes go the same way.
 * Returns how many jobs' files were deleted.
 */
export async function sweepFinishedFiles(
  db: Kysely<Database>,
  retentionHours: number,
  limit = 500,
): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    with expired as (
      select id from jobs
       where file_deleted_at is null
         and finished_at is not null
         and finished_at < now() - make_interval(hours => ${retentionHours})
       order by finished_at
       limit ${limit}
       for update skip locked
    ), gone as (
      delete from job_file_chunks c using expired e where c.job_id = e.id
    )
    update jobs set file_deleted_at = now() from expired where jobs.id = expired.id
    returning jobs.id
  `.execute(db);
  return rows.length;
}
