import { sql, type Kysely } from 'kysely';
import { ANALYSIS_QUEUE, BOSS_SCHEMA } from '../../queue/boss.ts';
import type { Database } from '../schema.ts';

export interface StrandedJob {
  id: string;
  owner: string;
  attempts: number;
  /** pg-boss's entry for the job: a state it will not run again from, or null when gone. */
  entry_state: 'completed' | 'cancelled' | 'failed' | null;
}

/**
 * Up to `limit` jobs that wait or run in our table while pg-boss will never run them
 * again: their entry is finished (`completed`, `cancelled`, `failed`) or gone. Every
 * `queued` or `running` row should have an entry in `created`, `retry` or `active`; the
 * row and its entry are written in one transaction, so a mismatch is damage (a worker died
 * on its last attempt, an entry deleted by hand or by pg-boss's retention), never a job
 * on its way in.
 *
 * Locked `for update skip locked`, inside the rescuer's transaction: two processes
 * rescuing at once take different rows, and a row being rescued elsewhere is skipped, not
 * waited for. In no order: the pass repeats until a batch comes back short, and an ORDER BY
 * would sort every waiting row (test/db/plans.test.ts) to pick a batch of them.
 */
export async function findStrandedJobs(trx: Kysely<Database>, limit: number): Promise<StrandedJob[]> {
  const { rows } = await sql<StrandedJob>`
    select j.id, j.owner, j.attempts, b.state::text as entry_state
      from jobs j
      left join ${sql.table(`${BOSS_SCHEMA}.job`)} b on b.name = ${ANALYSIS_QUEUE} and b.id = j.id
     where j.state in ('queued', 'running')
       and (b.id is null or b.state not in ('created', 'retry', 'active'))
     limit ${limit}
       for update of j skip locked
  `.execute(trx);
  return rows;
}
