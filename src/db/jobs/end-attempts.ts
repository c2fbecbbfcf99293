import { sql, type Kysely } from 'kysely';
import type { HeldEntry } from '../../queue/settled-ahead.ts';
import type { Database } from '../schema.ts';
import type { AttemptEnd, AttemptEnded } from './finish-attempt.ts';

/** One attempt's final state, with the pg-boss entry it holds (finish-attempt.ts, endAttempt). */
export interface FinalEnd {
  jobId: string;
  token: string;
  outcome: Exclude<AttemptEnd, { state: 'queued' }>;
  entry: HeldEntry;
}

/**
 * endAttempt (finish-attempt.ts) for several attempts in ONE statement: each row's final
 * state lands under its own token, or not at all, exactly as its own statement would have
 * written it, and each entry is completed fenced by its own attempt. All entries are of one
 * queue's table (a claim's batch: worker/run-claimed-jobs.ts). Answers in `ends`' order.
 *
 * One commit for a batch's results instead of one a job (P5: docs/performance.md).
 */
export async function endAttempts(db: Kysely<Database>, ends: FinalEnd[]): Promise<AttemptEnded[]> {
  const [first] = ends;
  if (first === undefined) return [];
  const { schema, table, queue } = first.entry;
  if (ends.some((e) => e.entry.schema !== schema || e.entry.table !== table || e.entry.queue !== queue))
    throw new Error('endAttempts: entries of one queue only');
  const input = JSON.stringify(
    ends.map(({ jobId, token, outcome, entry }, n) => ({
      n,
      job_id: jobId,
      token,
      state: outcome.state,
      result: outcome.state === 'completed' ? outcome.result : null,
      bytes_processed: outcome.state === 'completed' ? outcome.bytesProcessed : null,
      rows_processed: outcome.state === 'completed' ? outcome.rowsProcessed : null,
      error_code: outcome.state === 'failed' ? outcome.code : null,
      error_message: outcome.state === 'failed' ? outcome.message : null,
      error_details: outcome.state === 'failed' ? (outcome.details ?? null) : null,
      entry_id: entry.id,
      retry_count: entry.retryCount,
    })),
  );
  // Columns a completed or failed write leaves as they were, it leaves here too (`case`).
  const { rows } = await sql<{ won: boolean; settled: boolean }>`
    with input as (
      select * from jsonb_to_recordset(${input}::jsonb) as i(n int, job_id uuid, token uuid, state text,
        result jsonb, bytes_processed bigint, rows_processed bigint, error_code text,
        error_message text, error_details jsonb, entry_id uuid, retry_count int)
    ),
    ended as (
      update jobs set
        state = i.state,
        result = case when i.state = 'completed' then i.result else jobs.result end,
        bytes_processed = coalesce(i.bytes_processed, jobs.bytes_processed),
        rows_processed = coalesce(i.rows_processed, jobs.rows_processed),
        finished_at = now(),
        attempt_token = null,
        error_code = i.error_code,
        error_message = i.error_message,
        error_details = i.error_details
      from input i
      where jobs.id = i.job_id and jobs.attempt_token = i.token and jobs.state = 'running'
      returning jobs.id
    ),
    settled as (
      update ${sql.table(`${schema}.${table}`)} e
        set completed_on = ${sql.raw(`${schema}.job_now()`)}, state = 'completed', output = null
      from input i
      where e.name = ${queue} and e.id = i.entry_id and e.state = 'active' and e.retry_count = i.retry_count
      returning e.id
    )
    select exists (select 1 from ended where ended.id = i.job_id) as won,
           exists (select 1 from settled where settled.id = i.entry_id) as settled
      from input i order by i.n`.execute(db);
  return rows.map((row) => ({ won: Boolean(row.won), entrySettled: Boolean(row.settled) }));
}
