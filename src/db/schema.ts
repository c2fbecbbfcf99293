import type { ColumnType, Generated, Selectable } from 'kysely';
import type { JobState } from '../jobs/job-states.ts';

/** Row types of Tally's own tables, as kysely sees them. Migrations own the DDL. */
// The state vocabulary lives in jobs/ (browser-safe, below this layer); re-exported for the
// row types' users.
export { finalJobStates, jobStates, type JobState } from '../jobs/job-states.ts';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** bigint columns: pg returns int8 as string; we parse them to number in one place (database.ts). */
type BigIntColumn = ColumnType<number, number | bigint, number | bigint>;

/**
 * The life of a job, and who writes each step. `jobs` is the record clients and admins read;
 * pg-boss's row (same id) is only transport, deleted by its own retention.
 *
 *   queued ──startAttempt──▶ running ──finishAttempt──▶ completed | failed
 *     ▲                        │  │
 *     └──finishAttempt(queued)─┘  └──cancelJob──▶ cancelled   (cancelJob also takes queued jobs)
 *
 * - Every job is made or remade in src/job-lifecycle/: an upload (createJob) or a re-run
 *   (rerunJob) inserts the row `queued` with its bytes and the pg-boss entry, an operator's
 *   retry (retryFailedJob) resets a failed row and replaces its entry — each in one
 *   transaction, through one enqueueAnalysis.
 * - pg-boss hands the job to a worker (`SKIP LOCKED`); the worker's `startAttempt` sets
 *   `running`, bumps `attempts` and takes a fresh `attempt_token`, which fences off any
 *   older attempt still alive (pg-boss delivers at least once).
 * - While running, `recordProgress` writes `bytes_processed`/`rows_processed` a few times a
 *   second under that token; `finishAttempt` writes the result and the final state in one
 *   statement under the token. A transient error hands the job back (`queued`, progress 0)
 *   and pg-boss retries it; the last attempt ends `failed` with RETRIES_EXHAUSTED.
 * - `cancelJob` (the owner) ends a queued or running job `cancelled` and clears the token, so
 *   the running attempt's next write matches nothing and it stops.
 * - The rescuer (job-lifecycle/rescue-stranded-jobs.ts, each maintenance pass) keeps every
 *   `queued`/`running` row backed by a live pg-boss entry: a row whose entry is finished or
 *   gone is queued again (attempts left) or failed with RETRIES_EXHAUSTED. The retention sweep deletes a finished job's chunks after
 *   FILE_RETENTION_HOURS; the row and its result stay.
 * Every change a client can see bumps `version` and NOTIFYs (trigger in 0001_jobs.ts), which
 * wakes long polls on every API host.
 */
export interface JobsTable {
  id: string;
  owner: string;
  state: JobState;
  version: Generated<number>;
  filename: string;
  bytes: BigIntColumn;
  sha256: string;
  /**
   * Unsigned CRC-32 of the stored bytes (migration 0018), for checking a file analysed in
   * parallel parts; null for a job stored before it.
   */
  crc32: ColumnType<number | null, number | bigint | null | undefined, number | bigint | null>;
  compression: 'none' | 'gzip';
  options: ColumnType<unknown, string, string>;
  delimiter: string;
  attempts: Generated<number>;
  attempt_token: string | null;
  bytes_processed: ColumnType<number, number | bigint | undefined, number | bigint>;
  rows_processed: ColumnType<number, number | bigint | undefined, number | bigint>;
  error_code: string | null;
  error_message: string | null;
  error_details: ColumnType<unknown, string | null, string | null>;
  result: ColumnType<unknown, string | null, string | null>;
  created_at: DefaultedTimestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  updated_at: DefaultedTimestamp;
  file_deleted_at: Timestamp | null;
  /** The job whose stored bytes this one re-ran (jobs.rerun); null for an upload. */
  rerun_of: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface JobFileChunksTable {
  job_id: string;
  seq: number;
  data: Buffer;
}

export interface IdempotencyKeysTable {
  owner: string;
  key: string;
  job_id: string;
  created_at: DefaultedTimestamp;
}

export interface Database {
  jobs: JobsTable;
  job_file_chunks: JobFileChunksTable;
  idempotency_keys: IdempotencyKeysTable;
}

export type JobRow = Selectable<JobsTable>;
