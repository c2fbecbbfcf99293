import type { Kysely } from 'kysely';
import { jobStatusColumns, type JobStatusRow } from '../../jobs/job-status.ts';
import type { Database, JobState } from '../schema.ts';

/**
 * Newest first. Job ids are UUIDv7, ordered by creation time, so the last id of a page is
 * an exact keyset cursor: pages stay stable while new jobs arrive.
 */
export async function listJobs(
  db: Kysely<Database>,
  owner: string,
  opts: { limit: number; cursor?: string | undefined; state?: JobState | undefined },
): Promise<{ rows: JobStatusRow[]; nextCursor: string | null }> {
  let query = db
    .selectFrom('jobs')
    .select(jobStatusColumns)
    .where('owner', '=', owner)
    .orderBy('id', 'desc')
    .limit(opts.limit + 1);
  if (opts.state) query = query.where('state', '=', opts.state);
  if (opts.cursor) query = query.where('id', '<', opts.cursor);
  const rows = await query.execute();
  const page = rows.slice(0, opts.limit);
  return { rows: page, nextCursor: rows.length > opts.limit ? (page.at(-1)?.id ?? null) : null };
}
