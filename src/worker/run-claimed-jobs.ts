import type { Job, PgBoss } from 'pg-boss';
import type { AnalysisJobData } from '../queue/boss.ts';
import { runAnalysisJob, type WorkerDeps } from './run-analysis-job.ts';

/**
 * The jobs one claim took, one after another, as the handler of an analysis worker.
 *
 * One job: its transient error is thrown, and pg-boss fails the entry for a retry.
 * Several (a run of small jobs: db/jobs/small-batch-claim.ts): a throw would make pg-boss
 * fail every entry of the batch still active, the jobs that returned quietly (cancelled,
 * taken over) included. So each job's transient error fails that job's entry alone, fenced
 * to the attempt it was claimed at, as pg-boss would have failed it in a batch of its own,
 * and the rest of the batch runs on. Entries the jobs' final statements completed are
 * already settled (queue/settled-ahead.ts); pg-boss completes the others when this returns.
 */
export async function runClaimedJobs(
  boss: Pick<PgBoss, 'fail'>,
  deps: WorkerDeps,
  jobs: Job<AnalysisJobData>[],
): Promise<void> {
  const [only] = jobs;
  if (jobs.length === 1 && only !== undefined) return runAnalysisJob(deps, only);
  for (const job of jobs) {
    try {
      await runAnalysisJob(deps, job);
    } catch (error) {
      await boss
        .fail(job.name, job, error instanceof Error ? error : { value: String(error) })
        .catch((e: unknown) =>
          // The entry stays active: its expiry hands it to another attempt (pg-boss), or the
          // rescuer puts the job back (job-lifecycle/rescue-stranded-jobs.ts).
          deps.log.warn({ err: e, jobId: job.data.jobId }, 'could not hand a failed attempt back to pg-boss'),
        );
    }
  }
}
