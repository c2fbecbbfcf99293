import type { JobState } from './job-states.ts';

/** The public view of a job (docs/reference.md, "Watching and managing jobs"). Dates are ISO-8601 strings: no transformer. */
export interface JobStatus {
  id: string;
  state: JobState;
  version: number;
  filename: string;
  bytes: number;
  progress: { bytesProcessed: number; totalBytes: number; rowsProcessed: number; percent: number };
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: { code: string; message: string; details?: unknown } | null;
}

/**
 * The columns a status is built from, as the database returns them (bigint columns already
 * parsed to numbers). Declared here rather than picked from the row type, so this view
 * stays below the database layer; db/schema's JobRow satisfies it.
 */
export interface JobStatusRow {
  id: string;
  state: JobState;
  version: number;
  filename: string;
  bytes: number;
  bytes_processed: number;
  rows_processed: number;
  attempts: number;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  error_code: string | null;
  error_message: string | null;
  error_details: unknown;
}

/** The columns `toJobStatus` reads; select exactly these to build a status. */
export const jobStatusColumns = [
  'id',
  'state',
  'version',
  'filename',
  'bytes',
  'bytes_processed',
  'rows_processed',
  'attempts',
  'created_at',
  'started_at',
  'finished_at',
  'error_code',
  'error_message',
  'error_details',
] as const satisfies readonly (keyof JobStatusRow)[];

export function toJobStatus(row: JobStatusRow): JobStatus {
  const totalBytes = row.bytes;
  const bytesProcessed = row.state === 'completed' ? totalBytes : Math.min(row.bytes_processed, totalBytes);
  // 100 % means done: a running job whose last chunk is read but whose result is not yet
  // written shows 99.
  const percent =
    row.state === 'completed'
      ? 100
      : totalBytes === 0
        ? 0
        : Math.min(99, Math.floor((bytesProcessed / totalBytes) * 100));
  return {
    id: row.id,
    state: row.state,
    version: row.version,
    filename: row.filename,
    bytes: totalBytes,
    progress: { bytesProcessed, totalBytes, rowsProcessed: row.rows_processed, percent },
    attempts: row.attempts,
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    error:
      row.error_code === null
        ? null
        : {
            code: row.error_code,
            message: row.error_message ?? row.error_code,
            ...(row.error_details === null || row.error_details === undefined
              ? {}
              : { details: row.error_details }),
          },
  };
}
