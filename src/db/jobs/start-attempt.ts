import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface StartedAttempt {
  id: string;
  filename: string;
  bytes: number;
  /** What the stored bytes must hash to (the worker's read checks it). */
  sha256: string;
  compression: 'none' | 'gzip';
  options: unknown;
  attempts: number;
}

/**
 * Starts an attempt: marks the job running under a fresh attempt token. pg-boss delivers
 * at least once (expiry, lost heartbeats), so a previous attempt may still be alive
 * somewhere; taking a new token fences it off: every later write of the old attempt
 * names the old token and matches no row.
 *
 * Returns undefined when the job is already final (cancelled while queued, or finished by
 * an earlier attempt whose pg-boss completion was lost): there is nothing to run.
 */
export function startAttempt(
  db: Kysely<Database>,
  jobId: string,
  token: string,
): Promise<StartedAttempt | undefined> {
  return db
    .updateTable('jobs')
    .set({
      state: 'running',
      attempt_token: token,
      attempts: sql`attempts + 1`,
      started_at: sql`coalesce(started_at, now())`,
      bytes_processed: 0,
      rows_processed: 0,
    })
    .where('id', '=', jobId)
    .where('state', 'in', ['queued', 'running'])
    .returning(['id', 'filename', 'bytes', 'sha256', 'compression', 'options', 'attempts'])
    .executeTakeFirst();
}
