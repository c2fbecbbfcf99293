import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isProcessAlive } from './process-alive.ts';

/**
 * Removes the entries of `dir` (files or directories) named `<pid>-…` per `pattern` (its
 * first group is the pid) whose process is dead, or is this process (a restarted
 * container often gets the same pid). Entries of living processes sharing the directory
 * are left alone. Returns how many were removed.
 */
export async function removeEntriesOfDeadProcesses(dir: string, pattern: RegExp): Promise<number> {
  let removed = 0;
  for (const name of await fs.readdir(dir)) {
    const match = pattern.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || !isProcessAlive(pid)) {
      await fs.rm(path.join(dir, name), { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}
