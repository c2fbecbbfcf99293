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
  /**
   * The whole stored file when it is at most `inlineUpTo` bytes and kept in PostgreSQL's
   * store (`job_file_chunks`), read by the same statement; null otherwise (read it from the
   * store). Unverified: the caller checks it against `bytes` and `sha256` like any read.
   */
  inline: Buffer | null;
}

/**
 * Starts an attempt: marks the job running under a fresh attempt token. pg-boss delivers
 * at least once (expiry, lost heartbeats), so a previous attempt may still be alive
 * somewhere; taking a new token fences it off: every later write of the old attempt
 * names the old token and matches no row.
 *
 * A small file rides along (`inlineUpTo` > 0, PostgreSQL's store): a one-row job then costs
 * the worker one round trip fewer between its claim and its result (bench/one-job.bench.ts,
 * docs/performance.md). bytea comes back as hex text here, twice the bytes on the wire,
 * which only a small file can afford (a big one streams through COPY: read-file-chunks.ts).
 *
 * Returns undefined when the job is already final (cancelled while queued, or finished by
 * an earlier attempt whose pg-boss completion was lost): there is nothing to run.
 */
export function startAttempt(
  db: Kysely<Database>,
  jobId: string,
  token: string,
  inlineUpTo = 0,
): Promise<StartedAttempt | undefined> {
  // The chunks of the file in order (a resumable upload may have stored several small ones).
  const inline =
    inlineUpTo > 0
      ? sql<Buffer | null>`case when jobs.bytes between 1 and ${inlineUpTo} then
          (select string_agg(c.data, ''::bytea order by c.seq) from job_file_chunks c where c.job_id = jobs.id)
        end`
      : sql<Buffer | null>`null::bytea`;
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
    .returning([
      'id',
      'filename',
      'bytes',
      'sha256',
      'compression',
      'options',
      'attempts',
      inline.as('inline'),
    ])
    .executeTakeFirst();
}
