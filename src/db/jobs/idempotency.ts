import { sql, type Kysely } from 'kysely';
import type { Database, JobState } from '../schema.ts';

export const IDEMPOTENCY_WINDOW_HOURS = 24;

/** The job that already holds a key, with what the reused key must be compared against. */
export interface KeyHolder {
  jobId: string;
  state: JobState;
  sha256: string;
}

/**
 * Claims (owner, key) for `jobId` inside the upload transaction. A key older than the
 * window is taken over. Two concurrent uploads with one key serialise on the primary key:
 * the second waits for the first to commit, then finds the key taken.
 *
 * Returns undefined when the claim succeeded (one statement), else the job that holds the
 * key, with its file's sha256 so a key reused for another file can be refused.
 */
export async function claimIdempotencyKey(
  trx: Kysely<Database>,
  owner: string,
  key: string,
  jobId: string,
): Promise<KeyHolder | undefined> {
  const claimed = await sql<{ job_id: string }>`
    insert into idempotency_keys (owner, key, job_id) values (${owner}, ${key}, ${jobId})
    on conflict (owner, key) do update set job_id = excluded.job_id, created_at = now()
      where idempotency_keys.created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})
    returning job_id
  `.execute(trx);
  if (claimed.rows.length > 0) return undefined;
  const holder = await trx
    .selectFrom('idempotency_keys as k')
    .innerJoin('jobs as j', 'j.id', 'k.job_id')
    .select(['j.id as jobId', 'j.state', 'j.sha256'])
    .where('k.owner', '=', owner)
    .where('k.key', '=', key)
    .executeTakeFirstOrThrow();
  return holder;
}
