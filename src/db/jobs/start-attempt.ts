import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface StartedAttempt {
  id: string;
  filename: string;
  bytes: number;
  /** What the stored bytes must hash to (the worker's read checks it). */
  sha256: string;
  /**
   * Unsigned CRC-32 of the stored bytes, taken at upload (migration 0018), which the parts
   * of a split file can be checked against together; null for a job stored before it.
   */
  crc32: number | null;
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
  return sql<StartedRow>`
    update jobs set ${sql.raw(ATTEMPT_START_SET)}, attempt_token = ${token}
    where id = ${jobId} and state in ('queued', 'running')
    returning ${sql.raw(startedColumns(inlineUpTo))}
  `
    .execute(db)
    .then((result) => {
      const row = result.rows[0];
      return row && { ...row, crc32: crc32Of(row.crc32) };
    });
}

/**
 * A started row as the statement returns it: `crc32` as text (int8 is read as text and
 * converted, as `analysis_parts.range_crc32` is in analysis-parts.ts, so it does not depend
 * on a type parser, and the claim's JSON carries it the same way).
 */
export type StartedRow = Omit<StartedAttempt, 'crc32'> & { crc32: string | null };

/** `jobs.crc32` as startedColumns returns it, as a number (null stays null). */
export function crc32Of(text: string | null): number | null {
  return text === null ? null : Number(text);
}

/**
 * What starting an attempt writes on the job's row, besides its token (SQL, `jobs` in
 * scope). The claim that starts the attempt (start-attempt-on-claim.ts) writes the same.
 */
export const ATTEMPT_START_SET = `state = 'running', attempts = attempts + 1,
    started_at = coalesce(started_at, now()), bytes_processed = 0, rows_processed = 0`;

/**
 * The StartedAttempt columns of the started row (SQL, `jobs` in scope), with the file's
 * chunks in order when it is at most `inlineUpTo` bytes (a resumable upload may have
 * stored several small ones).
 */
export function startedColumns(inlineUpTo: number): string {
  if (!Number.isSafeInteger(inlineUpTo) || inlineUpTo < 0) throw new RangeError('inlineUpTo');
  const inline =
    inlineUpTo > 0
      ? `case when jobs.bytes between 1 and ${inlineUpTo} then
          (select string_agg(c.data, ''::bytea order by c.seq) from job_file_chunks c where c.job_id = jobs.id)
        end`
      : 'null::bytea';
  return `jobs.id, jobs.filename, jobs.bytes, jobs.sha256, jobs.crc32::text as crc32, jobs.compression,
    jobs.options, jobs.attempts, ${inline} as inline`;
}
