import { z } from 'zod';
import { findJobStatusRow } from '../../db/jobs/find-job.ts';
import { finalJobStates } from '../../jobs/job-states.ts';
import { isTransientDbError } from '../../db/transient-errors.ts';
import { jobNotFound } from '../../errors.ts';
import { toJobStatus, type JobStatusRow } from '../../jobs/job-status.ts';
import { MAX_WAIT_MS } from '../../jobs/limits.ts';
import type { Context } from './trpc.ts';

/**
 * `jobs.status` itself: its input, its read (plain or long poll) and its answer's JSON.
 * Two routes call it — the tRPC procedure (batches, types) and the status route for the
 * plain `GET /trpc/jobs.status?input=…` every poller sends — so there is one input schema,
 * one cache, one wait and one serialiser whichever route a request takes.
 */

export const jobIdInput = z.object({ jobId: z.uuid({ error: 'jobId must be a UUID' }) });

export const jobStatusInput = jobIdInput.extend({
  waitMs: z
    .number()
    .int('must be a whole number of milliseconds')
    .min(0, 'must be 0 or more')
    .max(MAX_WAIT_MS, `must be at most ${MAX_WAIT_MS}`)
    .optional(),
  knownVersion: z.number().int('must be a whole number').min(0, 'must be 0 or more').optional(),
});

export type JobStatusInput = z.infer<typeof jobStatusInput>;

/** What a status read needs from the request's context (the owner is authenticated). */
export type StatusDeps = Pick<Context, 'db' | 'changes' | 'statusCache' | 'longPolls' | 'draining' | 'hooks'>;

/**
 * The job's status row. With `waitMs` and `knownVersion` it is a long poll: it returns as
 * soon as `version` differs from `knownVersion`, or after `waitMs`, whichever comes first.
 *
 * The row returned is the status cache's shared object while the entry lives, so every
 * waiter woken by one change gets the same object — and `statusAnswer` serialises it once.
 */
export async function readJobStatus(
  deps: StatusDeps,
  owner: string,
  input: JobStatusInput,
  signal: AbortSignal | undefined,
): Promise<JobStatusRow> {
  const deadline = Date.now() + (input.waitMs ?? 0);
  const cache = deps.statusCache;
  const load = async () => {
    const row = await findJobStatusRow(deps.db, owner, input.jobId);
    await deps.hooks.afterStatusRead?.(input.jobId);
    return row;
  };
  const longPoll =
    input.waitMs !== undefined && input.waitMs > 0 && input.knownVersion !== undefined && !deps.draining();
  const release = longPoll ? deps.longPolls.acquire(owner) : undefined;
  // Subscribe, then read: a change committed after the read's snapshot NOTIFYs a
  // subscription that already exists, so `next` returns at once and we read again.
  const changes = longPoll ? deps.changes.subscribe(input.jobId) : undefined;
  try {
    for (;;) {
      const row = await cache.read(owner, input.jobId, load).catch(async (error: unknown) => {
        // A long poll rides out a cut connection: re-read until its deadline.
        if (!isTransientDbError(error) || Date.now() >= deadline) throw error;
        await new Promise((r) => setTimeout(r, 200));
        return 'retry' as const;
      });
      if (row === 'retry') continue;
      if (!row) throw jobNotFound();
      const remaining = deadline - Date.now();
      const answerNow =
        !changes ||
        row.version !== input.knownVersion ||
        remaining <= 0 ||
        signal?.aborted ||
        deps.draining() ||
        finalJobStates.has(row.state);
      if (answerNow) return row;
      // No cache invalidation here: the NOTIFY that woke us dropped the entry already,
      // so the first waiter to wake reads once and the others share that read.
      await changes.next(remaining, signal);
    }
  } finally {
    changes?.close();
    release?.();
  }
}

/**
 * tRPC's answer for the row, `{"result":{"data":<status>}}` as UTF-8 bytes, built once per
 * row object. A herd of 5,000 long polls on one job shares one cached row after a change,
 * so it costs one `JSON.stringify` and one encoding, not 5,000, and each answer is one
 * write of the same bytes.
 */
const answerByRow = new WeakMap<JobStatusRow, Buffer>();

export function statusAnswer(row: JobStatusRow): Buffer {
  let answer = answerByRow.get(row);
  if (answer === undefined) {
    answer = Buffer.from(JSON.stringify({ result: { data: toJobStatus(row) } }));
    answerByRow.set(row, answer);
  }
  return answer;
}
