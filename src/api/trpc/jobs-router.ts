import { z } from 'zod';
import { jobOptionsSchema } from '../../analysis/options.ts';
import { revenueAnalysisSchema, type RevenueAnalysis } from '../../analysis/result.ts';
import { cancelJob } from '../../db/jobs/cancel-job.ts';
import { findJobResult, findJobStatusRow } from '../../db/jobs/find-job.ts';
import { listJobs } from '../../db/jobs/list-jobs.ts';
import { jobNotFound, TallyError } from '../../errors.ts';
import { rerunJob, type RerunJob } from '../../job-lifecycle/rerun-job.ts';
import { jobStates } from '../../jobs/job-states.ts';
import { toJobStatus, type JobStatus } from '../../jobs/job-status.ts';
import { jobIdInput, jobStatusInput, readJobStatus } from './job-status-query.ts';
import { jobWatchInput, watchJobChanges } from './watch-job.ts';
import { authedProcedure, jobCreatingProcedure, router } from './trpc.ts';

export const jobsRouter = router({
  /**
   * The job's status. With `waitMs` it is a long poll: it answers as soon as `version`
   * differs from `knownVersion`, or after `waitMs`, whichever comes first. A plain
   * `GET /trpc/jobs.status?input=…` (what every client sends) is answered by the status
   * route with the same `readJobStatus`; this procedure answers batches and gives the type.
   */
  status: authedProcedure
    .input(jobStatusInput)
    .query(async ({ ctx, input, signal }): Promise<JobStatus> =>
      toJobStatus(await readJobStatus(ctx, ctx.owner, input, signal)),
    ),

  /** The analysis of a completed job. */
  result: authedProcedure.input(jobIdInput).query(async ({ ctx, input }): Promise<RevenueAnalysis> => {
    const row = await findJobResult(ctx.db.kysely, ctx.owner, input.jobId);
    if (!row) throw jobNotFound();
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
    ctx.statusCache.invalidate(input.jobId); // read-your-writes before the NOTIFY lands
    if (!exists) throw jobNotFound();
    const row = await findJobStatusRow(ctx.db, ctx.owner, input.jobId);
    if (!row) throw jobNotFound();
    return toJobStatus(row);
  }),

  /**
   * Runs a job's stored file again with other options (a corrected column mapping or
   * format), without uploading it again: a new job with its own id, the old one untouched.
   * `options` are the new job's options in full, as at upload (not merged with the old
   * job's). FILE_EXPIRED (410) once retention has deleted the bytes. Bounded as uploads
   * are: the owner's upload rate, the upload pool, and at most RERUN_MAX_IN_FLIGHT re-runs
   * queued or running (429 beyond); a token bound to one job cannot re-run (403).
   */
  rerun: jobCreatingProcedure
    .input(jobIdInput.extend({ options: jobOptionsSchema.default({}) }))
    .mutation(({ ctx, input }): Promise<RerunJob> => {
      const { db, boss, files, rerunMaxInFlight } = ctx.jobCreation;
      return rerunJob(
        { db, boss, files, maxInFlight: rerunMaxInFlight },
        { owner: ctx.owner, jobId: input.jobId, options: input.options },
      );
    }),

  /**
   * Every visible change of one job over SSE (docs/reference.md, "Watching and managing
   * jobs"), each event's id its
   * `version`; resumes after `lastEventId`; ends after the final state. See watch-job.ts.
   */
  watch: authedProcedure
    .input(jobWatchInput)
    .subscription(({ ctx, input, signal }) => watchJobChanges(ctx, ctx.owner, input, signal)),
});
