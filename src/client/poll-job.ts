import { MAX_WAIT_MS } from '../jobs/limits.ts';
import { sleep } from './context.ts';
import { JobFailedError, JobTimeoutError, toTallyApiError, type TallyApiError } from './errors.ts';
import type { TallyTrpcClient } from './trpc.ts';
import { isFinal, type JobStatus } from './types.ts';

/** The server's longest long poll (jobs.status `waitMs` is 0..25000), from the one module both share. */
export { MAX_WAIT_MS };

export interface PollJobOptions {
  /** At most one status request starts per interval. Default 5000. */
  pollIntervalMs?: number;
  /** Upper bound on status requests, failed attempts included. Default 360 (30 min at 5 s). */
  maxPolls?: number;
  /** Hears every status whose `version` differs from the last one seen. */
  onProgress?: (status: JobStatus) => void;
  /** Hears a line about once a minute while the job is unfinished. */
  onLog?: (line: string) => void;
  /** Stops at once: the pending request is aborted and the promise rejects with the reason. */
  signal?: AbortSignal;
  /** Called before every status request with its 1-based number. */
  onPoll?: (poll: number) => void;
  /** How often `onLog` hears a line. Default 60000. */
  logIntervalMs?: number;
}

/**
 * Watches a job until it is final, with a hard bound of `maxPolls` status requests.
 *
 * Every request is a long poll: `jobs.status({waitMs, knownVersion})` waits on the server
 * until the job's version moves or `waitMs` passes. A quiet job (queued behind others,
 * or in its last stretch) therefore costs one request per interval and a change still
 * arrives within ~100 ms. A running job bumps its version with every progress write
 * (~4 a second), so a long poll would return at once every time; to keep `maxPolls`
 * meaning "about maxPolls × interval of watching", the next request never starts less
 * than one interval after the previous one started. Progress is then sampled once per
 * interval, and `maxPolls × pollIntervalMs` is a lower bound on the time watched.
 *
 * Transient failures (no answer, 5xx, 429) are retried within the same budget; a
 * refusal (404, 401, bad input) rejects at once with a TallyApiError.
 */
export async function pollJob(
  trpc: TallyTrpcClient,
  jobId: string,
  opts: PollJobOptions = {},
): Promise<JobStatus> {
  const intervalMs = Math.max(0, opts.pollIntervalMs ?? 5000);
  const maxPolls = Math.max(0, Math.floor(opts.maxPolls ?? 360));
  const waitMs = Math.min(intervalMs, MAX_WAIT_MS);
  const { signal } = opts;
  const logEveryMs = opts.logIntervalMs ?? 60_000;
  const started = Date.now();
  let lastLog = started;
  let polls = 0;
  let last: JobStatus | undefined;
  let lastError: TallyApiError | undefined;

  while (polls < maxPolls) {
    signal?.throwIfAborted();
    const requestStarted = Date.now();
    polls += 1;
    opts.onPoll?.(polls);
    let status: JobStatus | undefined;
    try {
      status = await trpc.jobs.status.query(
        { jobId, waitMs, ...(last ? { knownVersion: last.version } : {}) },
        { signal },
      );
      lastError = undefined;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      lastError = toTallyApiError(error);
      if (!lastError.transient) throw lastError;
    }

    if (status) {
      const changed = last === undefined || status.version !== last.version;
      last = status;
      if (changed) opts.onProgress?.(status);
      if (status.state === 'completed') return status;
      if (isFinal(status.state)) throw new JobFailedError(status);
    }

    const now = Date.now();
    if (opts.onLog && now - lastLog >= logEveryMs) {
      lastLog = now;
      opts.onLog(logLine(jobId, last, lastError, now - started, polls, maxPolls));
    }
    const rest = intervalMs - (now - requestStarted);
    if (rest > 0 && polls < maxPolls) await sleep(rest, signal);
  }

  signal?.throwIfAborted();
  const elapsedMinutes = Math.round((Date.now() - started) / 6000) / 10;
  throw new JobTimeoutError(jobId, elapsedMinutes, polls, last, lastError ? { cause: lastError } : undefined);
}

function logLine(
  jobId: string,
  status: JobStatus | undefined,
  error: TallyApiError | undefined,
  elapsedMs: number,
  polls: number,
  maxPolls: number,
): string {
  const minutes = (elapsedMs / 60_000).toFixed(1);
  const what = status
    ? `${status.state}, ${status.progress.percent}% (${status.progress.rowsProcessed} rows)`
    : 'no status yet';
  const trouble = error ? `; last check failed: ${error.message}` : '';
  return `job ${jobId}: ${what} after ${minutes} min, ${polls}/${maxPolls} checks${trouble}`;
}
