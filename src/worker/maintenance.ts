import type { Db } from '../db/database.ts';
import { deleteExpiredJobs } from '../db/jobs/delete-expired-jobs.ts';
import { failAbandonedJobs } from '../db/jobs/fail-abandoned-jobs.ts';
import type { StoredFiles } from '../files/stored-files.ts';
import type { Logger } from '../logger.ts';

export interface Maintenance {
  /** One pass, now: used by the timer and by tests. */
  runOnce(): Promise<{
    filesDeleted: number;
    abandonedFailed: number;
    stagedUploadsSwept: number;
    /** Finished jobs deleted under JOB_RETENTION_DAYS (0 when retention is off). */
    jobsDeleted: number;
  }>;
  stop(): void;
}

export interface MaintenanceDeps {
  db: Db;
  log: Logger;
  /** Where uploaded bytes live: retention and the sweep of interrupted uploads go through it. */
  files: StoredFiles;
  fileRetentionHours: number;
  /** JOB_RETENTION_DAYS: finished jobs are deleted this long after they end; 0 or unset keeps them. */
  jobRetentionDays?: number;
}

/**
 * Deletes the staged chunks of uploads that will never become jobs (cut off by a crash,
 * a kill -9, a lost host). Run at every start (API and worker) and by each pass below.
 */
export async function sweepOrphanedUploads(deps: Pick<MaintenanceDeps, 'files' | 'log'>): Promise<number> {
  const swept = await deps.files.sweepOrphans();
  if (swept.length > 0)
    deps.log.info({ stagedUploads: swept.length }, 'deleted chunks of interrupted uploads');
  return swept.length;
}

/**
 * Periodic housekeeping run by worker processes: delete stored files past retention,
 * staged chunks of interrupted uploads, and give a final state to jobs pg-boss has given
 * up on. Safe on many processes at once (SKIP LOCKED, idempotent updates).
 */
export function startMaintenance(deps: MaintenanceDeps, intervalMs = 15_000): Maintenance {
  const runOnce = async () => {
    const filesDeleted = await deps.files.expire({ retentionHours: deps.fileRetentionHours });
    const stagedUploadsSwept = await sweepOrphanedUploads(deps);
    const abandoned = await failAbandonedJobs(deps.db.kysely);
    // One small batch per pass (every 15 s: up to ~1.1M jobs a day), so a backlog after
    // turning retention on drains without long transactions.
    const jobsDeleted = deps.jobRetentionDays
      ? await deleteExpiredJobs(deps.db.kysely, deps.jobRetentionDays)
      : 0;
    if (filesDeleted > 0) deps.log.info({ filesDeleted }, 'deleted stored files past retention');
    if (jobsDeleted > 0) deps.log.info({ jobsDeleted }, 'deleted finished jobs past JOB_RETENTION_DAYS');
    for (const jobId of abandoned) deps.log.warn({ jobId }, 'job given up by the queue; marked failed');
    return { filesDeleted, abandonedFailed: abandoned.length, stagedUploadsSwept, jobsDeleted };
  };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runOnce()
      .catch((error: unknown) => deps.log.warn({ err: error }, 'maintenance pass failed; will retry'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return { runOnce, stop: () => clearInterval(timer) };
}
