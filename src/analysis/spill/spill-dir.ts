import { promises as fs } from 'node:fs';
import type { Logger } from '../../logger.ts';
import { removeEntriesOfDeadProcesses } from '../../lib/dead-process-entries.ts';

/** One analysis's spill directory: `<pid>-<uuid>` (see FileSpillStore). */
const SPILL_ENTRY = /^(\d+)-[0-9a-f-]{36}$/;

/**
 * Makes the private spill root (0700) and removes the spill directories of analyses that
 * died with their process (kill -9, OOM kill, power loss). Run once at worker start-up,
 * before any analysis of this process could have made one.
 */
export async function prepareSpillDir(dir: string, log: Logger): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700);
  const removed = await removeEntriesOfDeadProcesses(dir, SPILL_ENTRY);
  if (removed > 0) log.info({ removed, dir }, 'removed spill files of interrupted analyses');
}
