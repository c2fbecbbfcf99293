import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export const IDEMPOTENCY_WINDOW_HOURS = 24;

/**
 * Claims (owner, key) for `jobId` inside the upload transaction. A key older than the
 * window is taken over. Two concurrent uploads with one key serialise on the primary key:
 * the second waits for the first to commit, then finds the key taken.
 *
 * Returns undefined when the claim succeeded, else the id of the job that holds the key.
 */
export async function claimIdempotencyKey(
  trx: Kysely<Database>,
  owner: string,
  key: string,
  jobId: string,
): Promise<string | undefined> {
  const claimed = await sql<{ job_id: string }>`
    insert into idempotency_keys (owner, key, job_id) values (${owner}, ${key}, ${jobId})
    on conflict (owner, key) do update set job_id = excluded.job_id, created_at = now()
      where idempotency_keys.created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})
    returning job_id
  `.execute(trx);
  if (claimed.rows.length > 0) return undefined;
  const holder = await trx
    .selectFrom('idempotency_keys')
    .select('job_id')
    .where('owner', '=', owner)
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
  return holder.job_id;
}
