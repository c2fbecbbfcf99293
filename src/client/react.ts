import { useCallback, useEffect, useMemo, useState } from 'react';
import {
  createTallyClient,
  JobFailedError,
  JobTimeoutError,
  type JobStatus,
  type TallyClient,
  type TokenProvider,
} from './index.ts';

export interface UseJobStatusOptions {
  /** At most one status request starts per interval. Default 5000. */
  pollIntervalMs?: number;
  /** Upper bound on status requests per watch. Default 360. */
  maxPolls?: number;
  /**
   * 'poll' (default): long polls with `pollJob`. 'watch': status pushed over SSE with
   * `watchJob`, which gives up after `maxPolls × pollIntervalMs` (then `error` is a
   * JobTimeoutError, as when polls run out) and long-polls where SSE cannot be used.
   */
  transport?: 'poll' | 'watch';
  /** A client to use; otherwise one is made from `baseUrl` and `token`. */
  client?: TallyClient;
  /** Default '' (the page's own origin). Ignored when `client` is given. */
  baseUrl?: string;
  /** A token or a provider; keep a provider's identity stable (module scope or useMemo). */
  token?: string | TokenProvider;
}

export interface JobStatusState {
  /** The latest status seen for this job (also set when it failed or was cancelled). */
  status: JobStatus | undefined;
  /** JobFailedError, JobTimeoutError (budget spent) or TallyApiError (e.g. NOT_FOUND). */
  error: Error | undefined;
  isPolling: boolean;
  /**
   * Status requests made by the current watch (with `transport: 'watch'`: stream
   * connections and fallback polls, known once the deadline passed).
   */
  polls: number;
  /** Watch again with a fresh `maxPolls` budget (e.g. a "Keep watching" button after a timeout). */
  restart: () => void;
}

interface Watch {
  jobId: string | undefined;
  generation: number;
  status: JobStatus | undefined;
  error: Error | undefined;
  isPolling: boolean;
  polls: number;
}

/**
 * Watches a job with `pollJob` (or `watchJob`, with `transport: 'watch'`), so the `maxPolls` bound holds by construction: the hook
 * adds no timers or retries of its own. A change of `jobId` (or unmount) aborts the
 * request in flight. Under StrictMode the first, discarded mount costs at most one
 * aborted request. Polling goes on in background tabs: a long poll is a request held by
 * the server, not a timer the browser can throttle, and every request is counted.
 */
export function useJobStatus(
  jobId: string | null | undefined,
  options: UseJobStatusOptions = {},
): JobStatusState {
  const { pollIntervalMs, maxPolls, client: given, baseUrl = '', token, transport = 'poll' } = options;
  const client = useMemo(
    () => given ?? createTallyClient({ baseUrl, ...(token ? { token } : {}) }),
    [given, baseUrl, token],
  );
  const [generation, setGeneration] = useState(0);
  const [watch, setWatch] = useState<Watch>(() => idle(undefined, 0));

  useEffect(() => {
    if (!jobId) {
      setWatch(idle(undefined, generation));
      return undefined;
    }
    const controller = new AbortController();
    const update = (change: Partial<Watch>) => {
      if (!controller.signal.aborted) setWatch((w) => ({ ...w, ...change }));
    };
    // "Keep watching" (a new generation) keeps the last status on screen.
    setWatch((w) => ({
      ...idle(jobId, generation),
      status: w.jobId === jobId ? w.status : undefined,
      isPolling: true,
    }));
    startWatch(client, jobId, { transport, maxPolls, pollIntervalMs }, controller.signal, update).then(
      (status) => update({ status, isPolling: false }),
      (error: unknown) => update(endOfWatch(error)),
    );
    return () => controller.abort(new DOMException('The job is no longer watched.', 'AbortError'));
  }, [client, jobId, pollIntervalMs, maxPolls, transport, generation]);

  const restart = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...shown(watch, jobId ?? undefined, generation), restart };
}

/** What the page sees of a watch: nothing of a previous job, no stale error of a previous generation. */
function shown(watch: Watch, jobId: string | undefined, generation: number): Omit<JobStatusState, 'restart'> {
  // Until the effect has run for a new job id, show nothing of the previous job.
  if (watch.jobId !== jobId) {
    return { status: undefined, error: undefined, isPolling: Boolean(jobId), polls: 0 };
  }
  if (watch.generation !== generation) {
    return { status: watch.status, error: undefined, isPolling: true, polls: 0 };
  }
  return { status: watch.status, error: watch.error, isPolling: watch.isPolling, polls: watch.polls };
}

type WatchSettings = Pick<UseJobStatusOptions, 'transport' | 'maxPolls' | 'pollIntervalMs'>;

/** `pollJob` or `watchJob` as the options say, reporting progress through `update`. */
function startWatch(
  client: TallyClient,
  jobId: string,
  { transport, maxPolls, pollIntervalMs }: WatchSettings,
  signal: AbortSignal,
  update: (change: Partial<Watch>) => void,
): Promise<JobStatus> {
  if (transport === 'watch') {
    return client.watchJob(jobId, {
      deadlineMs: (maxPolls ?? 360) * (pollIntervalMs ?? 5000),
      signal,
      onProgress: (status) => update({ status }),
    });
  }
  return client.pollJob(jobId, {
    ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }),
    ...(maxPolls === undefined ? {} : { maxPolls }),
    signal,
    onPoll: (polls) => update({ polls }),
    onProgress: (status) => update({ status }),
  });
}

/** The watch's state after it failed, timed out or was aborted. */
function endOfWatch(error: unknown): Partial<Watch> {
  return {
    error: error instanceof Error ? error : new Error(String(error)),
    isPolling: false,
    ...(error instanceof JobFailedError ? { status: error.status } : {}),
    // A watch counts its stream connections and fallback polls only in the error.
    ...(error instanceof JobTimeoutError ? { polls: error.polls } : {}),
  };
}

function idle(jobId: string | undefined, generation: number): Watch {
  return { jobId, generation, status: undefined, error: undefined, isPolling: false, polls: 0 };
}
