import type { Kysely } from 'kysely';
import { jobStatusColumns, type JobStatusRow } from '../../jobs/job-status.ts';
import type { Db } from '../database.ts';
import type { Database } from '../schema.ts';

const FIND_STATUS_SQL = `select ${jobStatusColumns.join(', ')} from jobs where id = $1 and owner = $2`;

/**
 * A job as its owner sees it. Another owner's job and a missing one look the same: undefined.
 *
 * This is the hottest query there is (every poll of every client), so it skips the query
 * builder and runs as a named prepared statement: PostgreSQL parses and plans it once per
 * connection, and Node does not rebuild and recompile the same SQL on every request. (Behind
 * a transaction pooler `Db.query` sends it unnamed: a PREPARE does not survive the pooler.)
 */
export async function findJobStatusRow(
  db: Db,
  owner: string,
  jobId: string,
): Promise<JobStatusRow | undefined> {
  const res = await db.query<JobStatusRow>({
    name: 'tally-find-job-status',
    text: FIND_STATUS_SQL,
    values: [jobId, owner],
  });
  return res.rows[0];
}

export async function findJobResult(
  db: Kysely<Database>,
  owner: string,
  jobId: string,
): Promise<{ state: JobStatusRow['state']; result: unknown } | undefined> {
  return db
    .selectFrom('jobs')
    .select(['state', 'result'])
    .where('id', '=', jobId)
    .where('owner', '=', owner)
    .executeTakeFirst();
}
