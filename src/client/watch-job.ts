import { JobFailedError, JobTimeoutError, toTallyApiError, type TallyApiError } from './errors.ts';
import type { SseReport } from './fetch-event-source.ts';
import { pollJob } from './poll-job.ts';
import type { TallyTrpcClient } from './trpc.ts';
import { isFinal, type JobStatus } from './types.ts';

export interface WatchJobOptions {
  /**
   * Stop watching after this long and reject with JobTimeoutError (the job goes on).
   * Default 30 min: `pollJob`'s default budget (360 polls × 5 s).
   */
  deadlineMs?: number;
  /** Hears every status the server pushes (each has a greater `version` than the last). */
  onProgress?: (status: JobStatus) => void;
  /** Stops at once: the stream is closed and the promise rejects with the reason. */
  signal?: AbortSignal;
}

const DEFAULT_DEADLINE_MS = 30 * 60_000;
/** Long polls of the fallback: as pollJob's default. */
const FALLBACK_INTERVAL_MS = 5000;

/**
 * `pollJob`'s promise over `jobs.watch` (SSE): resolves with the final status when the job
 * completed, rejects with JobFailedError when it failed or was cancelled, with
 * JobTimeoutError at the deadline, with TallyApiError when the server refuses (404, 401).
 *
 * Reconnects are the stream's own (fetch-event-source.ts): a server restart or a drain
 * costs a reconnect that resumes after the last version seen. Where SSE cannot be used —
 * no streaming fetch, a server or proxy that answers something other than an event
 * stream, or this owner's stream bound reached (429) — it long-polls with `pollJob` until
 * the same deadline.
 */
export function watchJob(
  trpc: TallyTrpcClient,
  jobId: string,
  opts: WatchJobOptions = {},
): Promise<JobStatus> {
  const { signal } = opts;
  const started = Date.now();
  const deadlineMs = Math.max(0, opts.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const report: SseReport = { connections: 0 };
  const inner = new AbortController();
  let last: JobStatus | undefined;
  let polls = 0;

  return new Promise<JobStatus>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      inner.abort();
      outcome();
    };
    const fail = (error: Error) => finish(() => reject(error));
    const onAbort = () => fail(signal?.reason as Error);
    const timer = setTimeout(() => {
      const minutes = Math.round((Date.now() - started) / 6000) / 10;
      fail(new JobTimeoutError(jobId, minutes, report.connections + polls, last));
    }, deadlineMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    const hear = (status: JobStatus) => {
      if (last && status.version <= last.version) return;
      last = status;
      opts.onProgress?.(status);
      if (status.state === 'completed') finish(() => resolve(status));
      else if (isFinal(status.state)) fail(new JobFailedError(status));
    };
    const fallBack = () =>
      pollUntilAborted(trpc, jobId, inner.signal, { hear, fail, poll: (n) => (polls = n) });
    if (typeof ReadableStream === 'undefined' || typeof TextDecoder === 'undefined') {
      report.unsupported = 'this runtime has no streaming fetch';
      return fallBack();
    }
    const subscribe = () =>
      subscribeOnce(trpc, jobId, last, inner.signal, report, {
        hear,
        error: (apiError) => {
          if (report.unsupported !== undefined || apiError.code === 'RATE_LIMITED') fallBack();
          else fail(apiError);
        },
        // The stream ended without a final state (a server that returned early): resume.
        complete: () => {
          if (!settled && !inner.signal.aborted) queueMicrotask(subscribe);
        },
      });
    subscribe();
  });
}

/** The long-poll fallback: the watch's deadline (through `signal`) bounds it, not a poll count. */
function pollUntilAborted(
  trpc: TallyTrpcClient,
  jobId: string,
  signal: AbortSignal,
  on: { hear: (status: JobStatus) => void; fail: (error: Error) => void; poll: (n: number) => void },
): void {
  pollJob(trpc, jobId, {
    pollIntervalMs: FALLBACK_INTERVAL_MS,
    maxPolls: Number.MAX_SAFE_INTEGER,
    signal,
    onPoll: on.poll,
    onProgress: on.hear,
  }).then(on.hear, (error: unknown) => {
    if (error instanceof JobFailedError) return on.hear(error.status);
    if (!signal.aborted) on.fail(toTallyApiError(error));
  });
}

/** One jobs.watch subscription, resuming after `last`; its error comes back as a TallyApiError. */
function subscribeOnce(
  trpc: TallyTrpcClient,
  jobId: string,
  last: JobStatus | undefined,
  signal: AbortSignal,
  report: SseReport,
  on: { hear: (status: JobStatus) => void; error: (error: TallyApiError) => void; complete: () => void },
): void {
  const subscription = trpc.jobs.watch.subscribe(
    { jobId, ...(last ? { lastEventId: String(last.version) } : {}) },
    {
      signal,
      context: { sse: report },
      onData: (event) => on.hear(event.data),
      onError: (error) => {
        subscription.unsubscribe();
        on.error(toTallyApiError(error));
      },
      onComplete: on.complete,
    },
  );
}
