import { TRPCClientError } from '@trpc/client';
import type { JobState, JobStatus } from './types.ts';

/**
 * A request the server refused (or that never reached it): the upload route's
 * `{"error": {"code", "message"}}` or a tRPC error, with the HTTP status. `status` is 0
 * when there was no answer at all (network down, connection cut); `code` is then
 * `NETWORK_ERROR`.
 */
export class TallyApiError extends Error {
  override readonly name = 'TallyApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Worth retrying: no answer, overload or a server-side fault, not a refusal. */
  get transient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** The job ended `failed` or `cancelled`; `code` and `message` are the server's. */
export class JobFailedError extends Error {
  override readonly name = 'JobFailedError';
  readonly jobId: string;
  readonly code: string;
  readonly state: JobState;
  readonly status: JobStatus;

  constructor(status: JobStatus) {
    const code = status.error?.code ?? (status.state === 'cancelled' ? 'CANCELLED' : 'FAILED');
    super(status.error?.message ?? `The job was ${status.state}.`);
    this.jobId = status.id;
    this.code = code;
    this.state = status.state;
    this.status = status;
  }
}

/**
 * `maxPolls` status requests found the job unfinished. The job itself goes on: it may
 * still be running on the server and can be checked again later with the same id.
 */
export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';

  constructor(
    readonly jobId: string,
    readonly elapsedMinutes: number,
    readonly polls: number,
    readonly lastStatus: JobStatus | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `Stopped watching job ${jobId} after ${polls} status checks over ${elapsedMinutes} min ` +
        `(last seen ${lastStatus ? lastStatus.state : 'unknown'}). The job may still be running: ` +
        'check it again later with the same job id.',
      options,
    );
  }
}

/** Turns whatever a tRPC call threw into a TallyApiError (an abort is passed through). */
export function toTallyApiError(error: unknown): TallyApiError {
  if (error instanceof TallyApiError) return error;
  if (error instanceof TRPCClientError) {
    const data = (error as TRPCClientError<never>).data as { code?: string; httpStatus?: number } | undefined;
    if (data?.code)
      return new TallyApiError(data.httpStatus ?? 500, data.code, error.message, undefined, { cause: error });
    return new TallyApiError(
      0,
      'NETWORK_ERROR',
      `Could not reach the Tally server: ${error.message}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TallyApiError(0, 'NETWORK_ERROR', `Could not reach the Tally server: ${message}`, undefined, {
    cause: error,
  });
}
