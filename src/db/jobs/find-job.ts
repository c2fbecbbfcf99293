import type { Kysely } from 'kysely';
import { jobStatusColumns, type JobStatusRow } from '../../jobs/job-status.ts';
import type { Database } from '../schema.ts';

/** A job as its owner sees it. Another owner's job and a missing one look the same: undefined. */
export function findJobStatusRow(
  db: Kysely<Database>,
  owner: string,
  jobId: string,
): Promise<JobStatusRow | undefined> {
  return db
    .selectFrom('jobs')
    .select(jobStatusColumns)
    .where('id', '=', jobId)
    .where('owner', '=', owner)
    .executeTakeFirst();
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
