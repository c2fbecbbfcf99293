/**
 * What a job row becomes when it goes back to `queued`, from an attempt handing it back
 * (finish-attempt.ts) or from maintenance re-queuing it (requeue-job.ts): no attempt
 * token, so an attempt still alive somewhere is fenced off; no progress and no error, so
 * the row shows what the next attempt starts from (it used to keep a failed attempt's 81 %
 * and a code outside the contract). `attempts` keeps counting; the error is in the log.
 */
export const QUEUED_AGAIN = {
  state: 'queued',
  attempt_token: null,
  bytes_processed: 0,
  rows_processed: 0,
  error_code: null,
  error_message: null,
  error_details: null,
} as const;
