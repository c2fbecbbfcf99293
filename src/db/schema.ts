import type { ColumnType, Generated, Selectable } from 'kysely';

/** Row types of Tally's own tables, as kysely sees them. Migrations own the DDL. */
export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const jobStates = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export const finalJobStates: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** bigint columns: pg returns int8 as string; we parse them to number in one place (database.ts). */
type BigIntColumn = ColumnType<number, number | bigint, number | bigint>;

export interface JobsTable {
  id: string;
  owner: string;
  state: JobState;
  version: Generated<number>;
  filename: string;
  bytes: BigIntColumn;
  sha256: string;
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
