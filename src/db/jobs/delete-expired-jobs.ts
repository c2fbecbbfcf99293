import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * JOB_RETENTION_DAYS: deletes finished jobs (completed, failed, cancelled) that ended more
 * than `retentionDays` ago, oldest first, at most `limit` per call. Only jobs whose stored
 * bytes are already gone (`file_deleted_at`, set by the file store's own retention,
 * FILE_RETENTION_HOURS, through src/files/): whatever the store, its bytes never outlive
 * the row that names them. The result goes with the row; idempotency keys by `on delete
 * cascade`; re-runs of a deleted job keep their own row (`rerun_of` set null, migration
 * 0005). pg-boss's entry went long before (its own retention: 24 h).
 *
 * Small batches under `skip locked`: each call holds row locks on at most `limit` rows for
 * one short statement, never a table lock, and skips rows a re-run is copying right now.
 * jobs_finished_at_idx (migration 0008) finds the oldest without reading the rest.
 */
export async function deleteExpiredJobs(
  db: Kysely<Database>,
  retentionDays: number,
  limit = 200,
): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    with expired as (
      select id from jobs
       where finished_at is not null
         and file_deleted_at is not null
         and finished_at < now() - make_interval(days => ${retentionDays})
         and state in ('completed', 'failed', 'cancelled')
       order by finished_at
       limit ${limit}
       for update skip locked
    )
    delete from jobs using expired where jobs.id = expired.id
    returning jobs.id
  `.execute(db);
  return rows.length;
}
