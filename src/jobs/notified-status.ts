import { jobStates } from './job-states.ts';
import type { JobStatusRow } from './job-status.ts';

/** A status row as a change notification carries it (migration 0012), with its owner. */
export interface NotifiedStatus {
  owner: string;
  row: JobStatusRow;
}

interface Payload extends Omit<JobStatusRow, 'created_at' | 'started_at' | 'finished_at'> {
  owner: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

/**
 * The status row in a notification's JSON, as `findJobStatusRow` would have read it: the
 * timestamps come as epoch milliseconds (floored, as the driver truncates microseconds), so
 * the Dates are the same and so is every status built from them. Undefined for anything
 * that is not such a row: the caller then reads the row itself.
 */
export function parseNotifiedStatus(json: string): NotifiedStatus | undefined {
  let payload: Payload;
  try {
    payload = JSON.parse(json) as Payload;
  } catch {
    return undefined;
  }
  if (
    typeof payload?.owner !== 'string' ||
    typeof payload.version !== 'number' ||
    !jobStates.includes(payload.state) ||
    typeof payload.created_at !== 'number'
  ) {
    return undefined;
  }
  const { owner, created_at, started_at, finished_at, ...columns } = payload;
  return {
    owner,
    row: {
      ...columns,
      created_at: new Date(created_at),
      started_at: started_at === null ? null : new Date(started_at),
      finished_at: finished_at === null ? null : new Date(finished_at),
    },
  };
}
