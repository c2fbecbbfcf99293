import type { PgBoss } from 'pg-boss';
import { ANALYSIS_PART_QUEUE, ANALYSIS_QUEUE, BOSS_SCHEMA, type AnalysisJobData } from '../queue/boss.ts';
import { CappedClaims } from '../queue/capped-claims.ts';
import type { ClaimExtensions } from '../queue/claim-extension.ts';
import type { SettledAhead } from '../queue/settled-ahead.ts';
import { inlineFileBytes, type WorkerDeps } from './run-analysis-job.ts';
import { runClaimedJobs } from './run-claimed-jobs.ts';
import { runPartJob, type PartJobData } from './split/run-part-job.ts';
import { OwnPartGate } from './split/own-part-gate.ts';
import { AttemptStartsOnClaim } from './start-on-claim.ts';

/**
 * Starts `concurrency` pg-boss workers on the analysis queue, each taking one job at a time.
 *
 * pg-boss with LISTEN/NOTIFY wakes a worker ~2 ms after a job is sent, but after each job
 * it waits out `notifyPollingIntervalSeconds` before fetching again, even with a backlog:
 * a queue of small jobs would drain at one job per interval per worker. Each worker
 * therefore notifies itself when its handler ends, so it fetches again at once, when its
 * claim saw more entries waiting than it took (or could not tell), and only sleeps when
 * the queue is empty.
 */
export async function startWorkers(
  boss: PgBoss,
  deps: WorkerDeps,
  concurrency: number,
  /** WORKER_MAX_RUNNING_PER_OWNER: 0 for no cap (owners still take turns: queue/fair-share.ts). */
  maxRunningPerOwner = 0,
  /** pg-boss's claims, which start each claimed job's attempt in the same statement. */
  claims?: ClaimExtensions,
  /** pg-boss's completions, answered for entries the attempt's final statement completed. */
  settledAhead?: SettledAhead,
): Promise<string[]> {
  const ids: string[] = [];
  // Under a per-owner cap, claims go one at a time (queue/capped-claims.ts) and start no
  // attempt: the attempt starts after the claim, as pg-boss's own handler would have it.
  const startsOnClaim =
    claims !== undefined && maxRunningPerOwner === 0
      ? new AttemptStartsOnClaim(inlineFileBytes(deps.files), () => claims.notifications)
      : undefined;
  if (startsOnClaim) claims!.extend(ANALYSIS_QUEUE, startsOnClaim);
  else if (claims !== undefined && maxRunningPerOwner > 0)
    claims.extend(ANALYSIS_QUEUE, new CappedClaims(ANALYSIS_QUEUE));
  // The parts' worker, stopped while this process runs its own part of a split file (split/own-part-gate.ts).
  const gate =
    deps.split === undefined
      ? undefined
      : new OwnPartGate(
          {
            start: () => startPartWorker(boss, workerDeps),
            stop: (id) => boss.offWork(ANALYSIS_PART_QUEUE, { id, wait: true }),
          },
          (error) => deps.log.warn({ err: error }, 'could not switch the parts worker'),
        );
  const settleAhead = settledAhead && (await settleAheadOn(boss, settledAhead));
  const workerDeps: WorkerDeps = {
    ...deps,
    ...(settleAhead ? { settleAhead } : {}),
    ...(startsOnClaim ? { startsOnClaim } : {}),
    ...(gate === undefined ? {} : { split: { ...deps.split!, ownPartGate: gate } }),
  };
  for (let i = 0; i < concurrency; i++) {
    const self = { id: '' };
    self.id = await boss.work<AnalysisJobData>(
      ANALYSIS_QUEUE,
      // Retries of heartbeat-lost jobs send no NOTIFY: the notify-mode poll bounds how
      // long they wait for a worker, so it is 2 s rather than pg-boss's 30 s default.
      {
        // A run of small jobs per claim, or one job (start-on-claim.ts, run-claimed-jobs.ts).
        batchSize: startsOnClaim?.batchSize ?? 1,
        localConcurrency: 1,
        pollingIntervalSeconds: 2,
        notifyPollingIntervalSeconds: 2,
        // Counted in the database across every worker process (the owner is the job's group).
        ...(maxRunningPerOwner > 0 ? { groupConcurrency: maxRunningPerOwner } : {}),
      },
      async (jobs) => {
        try {
          await runClaimedJobs(boss, workerDeps, jobs);
        } finally {
          // Fetch again at once only if the claim saw more waiting (start-on-claim.ts): a job
          // sent since then wakes this worker by its NOTIFY, which pg-boss keeps for after
          // the handler.
          const moreWaiting = jobs.map((job) => startsOnClaim?.done(job.id) ?? true);
          if (jobs.length === 0 || moreWaiting.includes(true)) boss.notifyWorker(self.id);
        }
      },
    );
    ids.push(self.id);
  }
  await gate?.open();
  return ids;
}

/** The analysis queue's entries, completed by the attempt's own final statement. */
async function settleAheadOn(boss: PgBoss, entries: SettledAhead) {
  const queue = await boss.getQueue(ANALYSIS_QUEUE);
  if (!queue?.table) return undefined;
  entries.track({ schema: BOSS_SCHEMA, table: queue.table, queue: ANALYSIS_QUEUE });
  return { entries, schema: BOSS_SCHEMA, table: queue.table };
}

/**
 * One worker for parts of split files, beside the analysis workers: an attempt that split
 * its file waits on its parts in an analysis slot, so parts need slots of their own.
 */
async function startPartWorker(boss: PgBoss, deps: WorkerDeps): Promise<string> {
  const self = { id: '' };
  self.id = await boss.work<PartJobData>(
    ANALYSIS_PART_QUEUE,
    { batchSize: 1, localConcurrency: 1, pollingIntervalSeconds: 2, notifyPollingIntervalSeconds: 2 },
    async ([job]) => {
      try {
        if (job) await runPartJob(deps, job);
      } finally {
        boss.notifyWorker(self.id);
      }
    },
  );
  return self.id;
}
