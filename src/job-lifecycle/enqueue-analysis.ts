import type { Transaction } from 'kysely';
import { fromKysely, type PgBoss, type SendOptions } from 'pg-boss';
import type { Database } from '../db/schema.ts';
import { ANALYSIS_QUEUE, type AnalysisJobData } from '../queue/boss.ts';
import { fairShareFor, fairShareSendOptions, type FairShareSendOptions } from '../queue/fair-share.ts';

/**
 * Puts job `jobId` in the analysis queue inside the transaction that makes or remakes the
 * job, so the row and its queue entry commit together or not at all: a worker never sees
 * an entry without its row, and a row never waits without an entry (the rescuer,
 * rescue-stranded-jobs.ts, repairs the few ways an entry can still be lost).
 *
 * The entry has the job's id, so admins can join pg-boss's table to ours. `replace` first
 * deletes whatever entry has that id (finished, or left behind by a lost attempt): pg-boss
 * ignores a send whose id exists. Through pg-boss's API rather than SQL on its tables:
 * it keeps cached per-queue counts and partitions that a hand-written INSERT would bypass.
 */
export async function enqueueAnalysis(
  trx: Transaction<Database>,
  boss: PgBoss,
  job: {
    jobId: string;
    owner: string;
    requestId?: string | undefined;
    replace?: boolean;
    /** Counted already, with the insert of the job's row (insert-job.ts): no count here. */
    othersInFlight?: number;
  },
): Promise<void> {
  const conn = { db: fromKysely(trx) };
  if (job.replace) await boss.deleteJob(ANALYSIS_QUEUE, job.jobId, conn);
  // Owners take turns: the priority and group of queue/fair-share.ts, counted in this
  // transaction (which already holds the job's row), unless the insert counted them.
  const turn =
    job.othersInFlight === undefined
      ? await fairShareSendOptions(trx, job.owner)
      : fairShareFor(job.owner, job.othersInFlight);
  const entry = analysisEntry(job, turn);
  await boss.send(ANALYSIS_QUEUE, entry.data, { ...entry.options, ...conn });
}

/** The analysis queue's entry for a job: the job's id as the entry's, so admins can join pg-boss's table to ours. */
export function analysisEntry(
  job: { jobId: string; requestId?: string | undefined },
  turn: FairShareSendOptions,
): { data: AnalysisJobData; options: SendOptions & { id: string } } {
  const data: AnalysisJobData = {
    jobId: job.jobId,
    ...(job.requestId === undefined ? {} : { requestId: job.requestId }),
  };
  return { data, options: { id: job.jobId, ...turn } };
}
