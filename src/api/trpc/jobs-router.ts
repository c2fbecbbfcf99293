import { z } from 'zod';
import { jobOptionsSchema } from '../../analysis/options.ts';
import { revenueAnalysisSchema, type RevenueAnalysis } from '../../analysis/result.ts';
import { cancelJob } from '../../db/jobs/cancel-job.ts';
import { findJobResult, findJobStatusRow } from '../../db/jobs/find-job.ts';
import { listJobs } from '../../db/jobs/list-jobs.ts';
import { rerunJob, type RerunJob } from '../../db/jobs/rerun-job.ts';
import { finalJobStates, jobStates } from '../../db/schema.ts';
import { isTransientDbError } from '../../db/transient-errors.ts';
import { TallyError } from '../../errors.ts';
import { toJobStatus, type JobStatus } from '../../jobs/job-status.ts';
import { MAX_WAIT_MS } from '../../jobs/limits.ts';
import { statusCacheFor } from './status-cache.ts';
import { authedProcedure, router } from './trpc.ts';

const jobIdInput = z.object({ jobId: z.uuid({ error: 'jobId must be a UUID' }) });

const notFound = () => new TallyError('NOT_FOUND', 'No such job (or it belongs to someone else).');

export const jobsRouter = router({
  /**
   * The job's status. With `waitMs` it is a long poll: it answers as soon as `version`
   * differs from `knownVersion`, or after `waitMs`, whichever comes first.
   */
  status: authedProcedure
    .input(
      jobIdInput.extend({
        waitMs: z
          .number()
          .int('must be a whole number of milliseconds')
          .min(0, 'must be 0 or more')
          .max(MAX_WAIT_MS, `must be at most ${MAX_WAIT_MS}`)
          .optional(),
        knownVersion: z.number().int('must be a whole number').min(0, 'must be 0 or more').optional(),
      }),
    )
    .query(async ({ ctx, input, signal }): Promise<JobStatus> => {
      const deadline = Date.now() + (input.waitMs ?? 0);
      const cache = statusCacheFor(ctx.changes);
      const load = async () => {
        const row = await findJobStatusRow(ctx.db, ctx.owner, input.jobId);
        await ctx.hooks.afterStatusRead?.(input.jobId);
        return row;
      };
      const longPoll =
        input.waitMs !== undefined && input.waitMs > 0 && input.knownVersion !== undefined && !ctx.draining();
      const release = longPoll ? ctx.longPolls.acquire(ctx.owner) : undefined;
      // Subscribe, then read: a change committed after the read's snapshot NOTIFYs a
      // subscription that already exists, so `next` returns at once and we read again.
      const changes = longPoll ? ctx.changes.subscribe(input.jobId) : undefined;
      try {
        for (;;) {
          const row = await cache.read(ctx.owner, input.jobId, load).catch(async (error: unknown) => {
            // A long poll rides out a cut connection: re-read until its deadline.
            if (!isTransientDbError(error) || Date.now() >= deadline) throw error;
            await new Promise((r) => setTimeout(r, 200));
            return 'retry' as const;
          });
          if (row === 'retry') continue;
          if (!row) throw notFound();
          const remaining = deadline - Date.now();
          const unchanged = row.version === input.knownVersion;
          const answerNow =
            !changes ||
            !unchanged ||
            remaining <= 0 ||
            signal?.aborted ||
            ctx.draining() ||
            finalJobStates.has(row.state);
          if (answerNow) {
            return toJobStatus(row);
          }
          // No cache invalidation here: the NOTIFY that woke us dropped the entry already,
          // so the first waiter to wake reads once and the others share that read.
          await changes.next(remaining, signal);
        }
      } finally {
        changes?.close();
        release?.();
      }
    }),

  /** The analysis of a completed job. */
  result: authedProcedure.input(jobIdInput).query(async ({ ctx, input }): Promise<RevenueAnalysis> => {
    const row = await findJobResult(ctx.db.kysely, ctx.owner, input.jobId);
    if (!row) throw notFound();
    if (row.state !== 'completed') {
      throw new TallyError(
        'PRECONDITION_FAILED',
        `The job is ${row.state}; its result exists once it is completed.`,
      );
    }
    // Stored results were validated before they were written; parsing again keeps the
    // declared output type honest if an older schema version is ever read back.
    return revenueAnalysisSchema.parse(row.result);
  }),

  /** The owner's jobs, newest first. */
  list: authedProcedure
    .input(
      z
        .object({
          limit: z.number().int().min(1).max(100).default(20),
          cursor: z.uuid().nullish(),
          state: z.enum(jobStates).optional(),
        })
        .default({ limit: 20 }),
    )
    .query(async ({ ctx, input }): Promise<{ items: JobStatus[]; nextCursor: string | null }> => {
      const page = await listJobs(ctx.db.kysely, ctx.owner, {
        limit: input.limit,
        cursor: input.cursor ?? undefined,
        state: input.state,
      });
      return { items: page.rows.map(toJobStatus), nextCursor: page.nextCursor };
    }),

  /** Cancels a queued or running job; a finished job is returned unchanged. */
  cancel: authedProcedure.input(jobIdInput).mutation(async ({ ctx, input }): Promise<JobStatus> => {
    const exists = await cancelJob(ctx.db.kysely, ctx.owner, input.jobId);
    statusCacheFor(ctx.changes).invalidate(input.jobId); // read-your-writes before the NOTIFY lands
    if (!exists) throw notFound();
    const row = await findJobStatusRow(ctx.db, ctx.owner, input.jobId);
    if (!row) throw notFound();
    return toJobStatus(row);
  }),

  /**
   * Runs a job's stored file again with other options (a corrected column mapping or
   * format), without uploading it again: a new job with its own id, the old one untouched.
   * `options` are the new job's options in full, as at upload (not merged with the old
   * job's). FILE_EXPIRED (410) once retention has deleted the bytes.
   */
  rerun: authedProcedure
    .input(jobIdInput.extend({ options: jobOptionsSchema.default({}) }))
    .mutation(({ ctx, input }): Promise<RerunJob> =>
      rerunJob(ctx, { owner: ctx.owner, jobId: input.jobId, options: input.options }),
    ),
});
