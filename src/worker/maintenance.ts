import type { Db } from '../db/database.ts';
import { failAbandonedJobs } from '../db/jobs/fail-abandoned-jobs.ts';
import { sweepFinishedFiles } from '../db/jobs/sweep-files.ts';
import type { Logger } from '../logger.ts';

export interface Maintenance {
  /** One pass, now: used by the timer and by tests. */
  runOnce(): Promise<{ filesDeleted: number; abandonedFailed: number }>;
  stop(): void;
}

/**
 * Periodic housekeeping run by worker processes: delete stored files past retention and
 * give a final state to jobs pg-boss has given up on. Safe on many processes at once
 * (SKIP LOCKED, idempotent updates).
 */
export function startMaintenance(
  deps: { db: Db; log: Logger; fileRetentionHours: number },
  intervalMs = 15_000,
): Maintenance {
  const runOnce = async () => {
    const filesDeleted = await sweepFinishedFiles(deps.db.kysely, deps.fileRetentionHours);
    const abandoned = await failAbandonedJobs(deps.db.kysely);
    if (filesDeleted > 0) deps.log.info({ filesDeleted }, 'deleted stored files past retention');
    for (const jobId of abandoned) deps.log.warn({ jobId }, 'job given up by the queue; marked failed');
    return { filesDeleted, abandonedFailed: abandoned.length };
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
