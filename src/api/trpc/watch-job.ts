import { tracked, type TrackedEnvelope } from '@trpc/server';
import { z } from 'zod';
import { findJobStatusRow } from '../../db/jobs/find-job.ts';
import { finalJobStates } from '../../db/schema.ts';
import { isTransientDbError } from '../../db/transient-errors.ts';
import { jobNotFound, TallyError } from '../../errors.ts';
import { toJobStatus, type JobStatus, type JobStatusRow } from '../../jobs/job-status.ts';
import { jobIdInput } from './job-status-query.ts';
import type { Context } from './trpc.ts';

/**
 * `jobs.watch` (docs/reference.md, "Watching and managing jobs"): every visible change of one job as an SSE event whose id
 * is the job's `version`, ending after the final state.
 *
 * `lastEventId` is what tRPC's client (and a browser's EventSource) sends back when it
 * reconnects; tRPC merges it into the input. Versions only grow, so "resume after it" is
 * "send the row once its version is greater": no gap (the row read is always the newest,
 * so a final state is never skipped) and no duplicate (a version sent is never sent again
 * on this stream nor after a resume). Changes closer together than one read (progress
 * writes ~4 a second) coalesce into the newest: an event is a status, not a diff.
 */
export const jobWatchInput = jobIdInput.extend({
  lastEventId: z.string().max(20).nullish(),
});

export type JobWatchInput = z.infer<typeof jobWatchInput>;

/** What a watch needs from the request's context (the owner is authenticated). */
export type WatchDeps = Pick<Context, 'db' | 'changes' | 'statusCache' | 'watches' | 'draining'>;

/**
 * While the LISTEN connection is up a quiet job costs nothing: the generator sleeps until
 * a NOTIFY. This re-read bound only matters if a NOTIFY were ever lost; heartbeats keep
 * the socket alive in between (the watch route's shared timer, or tRPC's `sse` pings).
 */
const RECHECK_MS = 60_000;

/** The procedure's events: each row to send as `tracked(version, status)`. */
export async function* watchJobChanges(
  deps: WatchDeps,
  owner: string,
  input: JobWatchInput,
  signal: AbortSignal | undefined,
): AsyncGenerator<TrackedEnvelope<JobStatus>, void, unknown> {
  for await (const row of watchJobRows(deps, owner, input, signal)) {
    yield tracked(String(row.version), toJobStatus(row));
  }
}

/**
 * The rows to send, each newer than the last, until the final state. Rows come from the
 * status cache, so every stream of a job woken by one change holds the same row object
 * (the watch route encodes each row's event once for all of them).
 */
export async function* watchJobRows(
  deps: WatchDeps,
  owner: string,
  input: JobWatchInput,
  signal: AbortSignal | undefined,
): AsyncGenerator<JobStatusRow, void, unknown> {
  if (deps.draining()) throw shuttingDown();
  const release = deps.watches.acquire(owner);
  // Subscribe, then read (STYLE: a NOTIFY can overtake the SELECT that missed its commit).
  const changes = deps.changes.subscribe(input.jobId);
  const cache = deps.statusCache;
  const load = () => findJobStatusRow(deps.db, owner, input.jobId);
  const resumedAfter = parseEventId(input.lastEventId);
  let sent: number | undefined;
  try {
    for (;;) {
      if (signal?.aborted) return;
      const row = await readRow(() => cache.read(owner, input.jobId, load), signal);
      if (!row) throw jobNotFound();
      if (isNewer(row, sent, resumedAfter)) {
        sent = row.version;
        yield row;
      }
      if (finalJobStates.has(row.state)) return;
      // The process is stopping: a retryable error (503) makes the client reconnect, with
      // its last event id, to an instance that is not; ending with `return` would read as
      // "the job is done" to a plain tRPC client.
      if (deps.draining()) throw shuttingDown();
      await changes.next(RECHECK_MS, signal);
    }
  } finally {
    changes.close();
    release();
  }
}

/** First row: newer than the client's last event id (any row when there is none). After: newer than the last sent. */
function isNewer(row: JobStatusRow, sent: number | undefined, resumedAfter: number | undefined): boolean {
  if (sent !== undefined) return row.version > sent;
  // An id from elsewhere (greater than any version this job had) must not silence the
  // stream: the client then hears the current state once.
  return resumedAfter === undefined || row.version !== resumedAfter;
}

function parseEventId(id: string | null | undefined): number | undefined {
  if (id === null || id === undefined || !/^\d{1,15}$/.test(id)) return undefined;
  return Number(id);
}

/** A cut database connection costs a re-read, not the stream: the client keeps its socket. */
async function readRow(
  read: () => Promise<JobStatusRow | undefined>,
  signal: AbortSignal | undefined,
): Promise<JobStatusRow | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (!isTransientDbError(error) || attempt >= 50 || signal?.aborted) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const shuttingDown = () =>
  new TallyError('SERVICE_UNAVAILABLE', 'The server is shutting down; reconnect to continue.', undefined, {
    retryAfterSeconds: 1,
  });
