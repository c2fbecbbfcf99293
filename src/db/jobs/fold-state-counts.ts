import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Folds the ledger behind tally_admin.queue_health's all-time counts (job_state_counts,
 * appended to by triggers on every insert, state change and delete of a job) into one row
 * per state, so the view sums a handful of rows, not one per change since the start.
 * Rows another pass has locked are skipped (`skip locked`): passes on several workers each
 * fold their share, none waits, and every change is counted exactly once. Returns the number
 * of ledger rows folded.
 */
export async function foldStateCounts(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ folded: number }>`
    with taken as (
      delete from job_state_counts
       where ctid in (select ctid from job_state_counts for update skip locked)
      returning state, n
    ),
    folded as (
      insert into job_state_counts (state, n)
      select state, sum(n) from taken group by state having sum(n) <> 0
    )
    select count(*)::int as folded from taken
  `.execute(db);
  return rows[0]?.folded ?? 0;
}
