import type { Job, PgBoss } from 'pg-boss';
import type { AnalysisJobData } from '../queue/boss.ts';
import { BatchEndings } from './batch-endings.ts';
import { runAnalysisJob, type WorkerDeps } from './run-analysis-job.ts';

const ignore = () => undefined;

/**
 * The jobs one claim took, as the handler of an analysis worker.
 *
 * One job: its transient error is thrown, and pg-boss fails the entry for a retry.
 *
 * Several (a run of small jobs: db/jobs/small-batch-claim.ts) run one after another, each
 * up to its final write, which is held (batch-endings.ts); once the last has its own, the
 * writes go in one statement, each fenced by its own attempt token and each completing its
 * own entry. A job's result is therefore written when its batch's is: a few milliseconds
 * later, for one commit a batch instead of one a job.
 *
 * A throw would make pg-boss fail every entry of the batch still active, the jobs that
 * returned quietly (cancelled, taken over) included. So each job's transient error fails
 * that job's entry alone, fenced to the attempt it was claimed at, as pg-boss would have
 * failed it in a batch of its own, and the rest of the batch runs on. Entries the final
 * statement completed are settled (queue/settled-ahead.ts); pg-boss completes the others
 * when this returns.
 */
export async function runClaimedJobs(
  boss: Pick<PgBoss, 'fail'>,
  deps: WorkerDeps,
  jobs: Job<AnalysisJobData>[],
): Promise<void> {
  const [only] = jobs;
  if (jobs.length === 1 && only !== undefined) return runAnalysisJob(deps, only);
  // Held writes need the entries settled with them: without that, each job writes its own.
  const endings = deps.settleAhead === undefined ? undefined : new BatchEndings(deps.db.kysely);
  const batchDeps: WorkerDeps = endings === undefined ? deps : { ...deps, endings };
  const runs: Promise<void>[] = [];
  for (const job of jobs) {
    const run = runAnalysisJob(batchDeps, job);
    runs.push(run);
    // The next job starts once this one holds its final write, or ended without one.
    await (endings === undefined
      ? run.then(ignore, ignore)
      : Promise.race([run.then(ignore, ignore), endings.held(job.id)]));
  }
  await endings?.flush();
  const ended = await Promise.allSettled(runs);
  for (const [i, outcome] of ended.entries()) {
    const job = jobs[i]!;
    if (outcome.status === 'fulfilled') continue;
    const error: unknown = outcome.reason;
    await boss
      .fail(job.name, job, error instanceof Error ? error : { value: String(error) })
      .catch((e: unknown) =>
        // The entry stays active: its expiry hands it to another attempt (pg-boss), or the
        // rescuer puts the job back (job-lifecycle/rescue-stranded-jobs.ts).
        deps.log.warn({ err: e, jobId: job.data.jobId }, 'could not hand a failed attempt back to pg-boss'),
      );
  }
}
