import type { PgBoss } from 'pg-boss';
import { expireResumableUploads } from '../db/jobs/resumable-uploads.ts';
import type { Db } from '../db/database.ts';
import { deleteExpiredJobs } from '../db/jobs/delete-expired-jobs.ts';
import { foldStateCounts } from '../db/jobs/fold-state-counts.ts';
import type { StoredFiles } from '../files/stored-files.ts';
import {
  createRescuer,
  defaultRescuerOptions,
  type RescuePass,
  type Rescuer,
} from '../job-lifecycle/rescue-stranded-jobs.ts';
import type { Logger } from '../logger.ts';

export interface Maintenance {
  /** One pass, now: used by the timer and by tests. */
  runOnce(): Promise<{
    filesDeleted: number;
    rescued: RescuePass;
    stagedUploadsSwept: number;
    /** Finished jobs deleted under JOB_RETENTION_DAYS (0 when retention is off). */
    jobsDeleted: number;
  }>;
  /** The pass that gives every waiting or running job a live queue entry or a final state. */
  rescuer: Rescuer;
  stop(): void;
}

export interface MaintenanceDeps {
  db: Db;
  log: Logger;
  /** Where uploaded bytes live: retention and the sweep of interrupted uploads go through it. */
  files: StoredFiles;
  fileRetentionHours: number;
  boss: PgBoss;
  /** JOB_RETRY_LIMIT: a stranded job with fewer than this + 1 attempts is queued again. */
  retryLimit: number;
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
 * staged chunks of interrupted uploads, and rescue jobs without a live queue entry (so a
 * waiting or running job gets one, or a final state, within one period).
 * Safe on many processes at once (SKIP LOCKED, idempotent updates).
 */
export function startMaintenance(deps: MaintenanceDeps, intervalMs = 15_000): Maintenance {
  const rescuer = createRescuer(deps, { ...defaultRescuerOptions, maxAttempts: deps.retryLimit + 1 });
  const runOnce = async () => {
    const filesDeleted = await deps.files.expire({ retentionHours: deps.fileRetentionHours });
    // Resumable uploads past RESUMABLE_UPLOAD_TTL_HOURS; their stagings expire with them (the sweep below).
    await expireResumableUploads(deps.db.kysely);
    const stagedUploadsSwept = await sweepOrphanedUploads(deps);
    const rescued = await rescuer.runOnce();
    // One small batch per pass (every 15 s: up to ~1.1M jobs a day), so a backlog after
    // turning retention on drains without long transactions.
    const jobsDeleted = deps.jobRetentionDays
      ? await deleteExpiredJobs(deps.db.kysely, deps.jobRetentionDays)
      : 0;
    // After the deletes above, whose counts it folds too.
    await foldStateCounts(deps.db.kysely);
    if (filesDeleted > 0) deps.log.info({ filesDeleted }, 'deleted stored files past retention');
    if (jobsDeleted > 0) deps.log.info({ jobsDeleted }, 'deleted finished jobs past JOB_RETENTION_DAYS');
    return { filesDeleted, rescued, stagedUploadsSwept, jobsDeleted };
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
  return { runOnce, rescuer, stop: () => clearInterval(timer) };
}
