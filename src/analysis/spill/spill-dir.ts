import { promises as fs } from 'node:fs';
import type { Logger } from '../../logger.ts';
import { entryName, removeEntriesOfDeadProcesses } from '../../lib/dead-process-entries.ts';

/**
 * A spill directory of another container sharing SPILL_DIR is removed only after this long
 * without a change: an attempt lives at most JOB_EXPIRE_SECONDS (1 h by default) and
 * writes a run whenever a table fills, so a day of silence means its process is gone.
 */
export const FOREIGN_SPILL_LEASE_MS = 24 * 3600 * 1000;

/** The name of one analysis's spill directory: `<host>-<pid>-<uuid>` (see dead-process-entries). */
export const spillEntryName = (): string => entryName();

/**
 * Makes the private spill root (0700) and removes the spill directories of analyses that
 * died with their process (kill -9, OOM kill, power loss). Run once at worker start-up,
 * before any analysis of this process could have made one.
 */
export async function prepareSpillDir(dir: string, log: Logger): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700);
  const removed = await removeEntriesOfDeadProcesses(dir, { leaseMs: FOREIGN_SPILL_LEASE_MS });
  if (removed > 0) log.info({ removed, dir }, 'removed spill files of interrupted analyses');
}
