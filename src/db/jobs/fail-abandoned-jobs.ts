import { sql, type Kysely } from 'kysely';
import { ANALYSIS_QUEUE, BOSS_SCHEMA } from '../../queue/boss.ts';
import type { Database } from '../schema.ts';

/**
 * Our row must never stay `queued`/`running` once pg-boss has given up on the job. That
 * happens when a worker dies (kill -9, OOM) on the last attempt: pg-boss fails the job at
 * heartbeat/expiry, but no handler is left to write our final state. This marks such jobs
 * failed with RETRIES_EXHAUSTED so clients see a final state.
 */
export async function failAbandonedJobs(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    update jobs set
      state = 'failed',
      finished_at = now(),
      attempt_token = null,
      error_code = 'RETRIES_EXHAUSTED',
      error_message = 'The job stopped responding on every attempt (a worker died or lost the database) and was given up.'
    where state in ('queued', 'running')
      and exists (
        select 1 from ${sql.table(`${BOSS_SCHEMA}.job`)} b
         where b.name = ${ANALYSIS_QUEUE} and b.id = jobs.id and b.state = 'failed'
      )
    returning id
  `.execute(db);
  return rows.map((r) => r.id);
}
