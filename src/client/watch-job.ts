import { JobFailedError, JobTimeoutError, toTallyApiError } from './errors.ts';
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
  return new Promise<JobStatus>((resolve, reject) => {
    new JobWatch(trpc, jobId, opts, resolve, reject).start();
  });
}

/** One watch: the stream (or its long-poll fallback), the deadline, and how it ends. */
class JobWatch {
  private readonly started = Date.now();
  private readonly report: SseReport = { connections: 0 };
  /** Stops the stream or the fallback polls once the watch has ended. */
  private readonly inner = new AbortController();
  private last: JobStatus | undefined;
  private polls = 0;
  private settled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onAbort = () => this.finish(() => this.reject(this.opts.signal?.reason as Error));

  constructor(
    private readonly trpc: TallyTrpcClient,
    private readonly jobId: string,
    private readonly opts: WatchJobOptions,
    private readonly resolve: (status: JobStatus) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  start(): void {
    const { signal } = this.opts;
    const deadlineMs = Math.max(0, this.opts.deadlineMs ?? DEFAULT_DEADLINE_MS);
    this.timer = setTimeout(() => this.finish(() => this.reject(this.timeoutError())), deadlineMs);
    if (signal?.aborted) return this.onAbort();
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (typeof ReadableStream === 'undefined' || typeof TextDecoder === 'undefined') {
      this.report.unsupported = 'this runtime has no streaming fetch';
      return this.fallBack();
    }
    this.subscribe();
  }

  private finish(outcome: () => void): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.inner.abort();
    outcome();
  }

  private timeoutError(): JobTimeoutError {
    const minutes = Math.round((Date.now() - this.started) / 6000) / 10;
    return new JobTimeoutError(this.jobId, minutes, this.report.connections + this.polls, this.last);
  }

  private hear(status: JobStatus): void {
    if (this.last && status.version <= this.last.version) return;
    this.last = status;
    this.opts.onProgress?.(status);
    if (status.state === 'completed') this.finish(() => this.resolve(status));
    else if (isFinal(status.state)) this.finish(() => this.reject(new JobFailedError(status)));
  }

  private fallBack(): void {
    const hear = (status: JobStatus) => this.hear(status);
    pollJob(this.trpc, this.jobId, {
      pollIntervalMs: FALLBACK_INTERVAL_MS,
      // The deadline bounds the fallback, not a poll count.
      maxPolls: Number.MAX_SAFE_INTEGER,
      signal: this.inner.signal,
      onPoll: (n) => (this.polls = n),
      onProgress: hear,
    }).then(hear, (error: unknown) => {
      if (error instanceof JobFailedError) return this.hear(error.status);
      if (!this.inner.signal.aborted) this.finish(() => this.reject(toTallyApiError(error)));
    });
  }

  private subscribe(): void {
    const { last } = this;
    const subscription = this.trpc.jobs.watch.subscribe(
      { jobId: this.jobId, ...(last ? { lastEventId: String(last.version) } : {}) },
      {
        signal: this.inner.signal,
        context: { sse: this.report },
        onData: (event) => this.hear(event.data),
        onError: (error) => {
          subscription.unsubscribe();
          const apiError = toTallyApiError(error);
          if (this.report.unsupported !== undefined || apiError.code === 'RATE_LIMITED') this.fallBack();
          else this.finish(() => this.reject(apiError));
        },
        // The stream ended without a final state (a server that returned early): resume.
        onComplete: () => {
          if (!this.settled && !this.inner.signal.aborted) queueMicrotask(() => this.subscribe());
        },
      },
    );
  }
}
