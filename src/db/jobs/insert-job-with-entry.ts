import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { EntryInsert } from '../../queue/entry-insert.ts';
import { fairSharePriority, jobsInFlight } from '../../queue/fair-share.ts';
import type { Database } from '../schema.ts';

/**
 * A new job in ONE statement, outside any transaction: the job row with the adoption of its
 * bytes (`adoption`, StoredFiles.adoption), the owner's other jobs in flight counted, and
 * pg-boss's queue entry (`entry`, queue/entry-insert.ts) with the priority that count gives
 * (queue/fair-share.ts), and its NOTIFY. A statement commits whole or not at all, as the
 * transaction of four round trips did (begin, row, entry, commit); small jobs paid those per
 * upload (bench/small-jobs.bench.ts, bench/one-job.bench.ts).
 *
 * When the staging is gone (the sweep took it) no row is inserted, and the entry's JSON
 * becomes an empty array, so no entry is inserted either: returns false. An entry that
 * would not go in beside an inserted row (pg-boss skips an id it already has) fails the
 * statement (division by zero, pg-boss's own guard in its flows), so a row never waits
 * without its entry.
 */
export async function insertJobWithEntry(
  db: Kysely<Database>,
  owner: string,
  adoption: RawBuilder<unknown>,
  entry: EntryInsert,
): Promise<boolean> {
  const priority = fairSharePriority(sql<number>`(select n from others)`);
  const entries = sql`case when exists (select 1 from job)
    then jsonb_set(${entry.json}::jsonb, '{0,priority}', to_jsonb(${priority}))
    else '[]'::jsonb end`;
  const { rows } = await sql<{ inserted: number }>`
    with ${adoption},
      others as (select ${jobsInFlight(owner)} as n),
      ${entry.ctes(entries)}
    select (select count(*)::int from job) as inserted,
      1 / (case when (select count(*) from job) = (select count(*) from ins) then 1 else 0 end) as whole
      ${entry.notifies ? sql`, (select count(*) from notified) as notified` : sql``}
  `.execute(db);
  return rows[0]?.inserted === 1;
}
