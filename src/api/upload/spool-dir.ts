import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../logger.ts';
import { isProcessAlive } from '../../lib/process-alive.ts';

/**
 * Makes the private spool directory (0700) and removes temp files of uploads that died
 * with their process (kill -9, power loss). Spool files are named `<pid>-<uuid>.part`; a
 * file whose pid is not alive belongs to nobody. Several API processes may share a host
 * and a spool directory, so files of living processes are left alone.
 */
export async function prepareSpoolDir(dir: string, log: Logger): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700);
  let removed = 0;
  for (const name of await fs.readdir(dir)) {
    const match = /^(\d+)-[0-9a-f-]{36}\.part$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || !isProcessAlive(pid)) {
      await fs.rm(path.join(dir, name), { force: true });
      removed += 1;
    }
  }
  if (removed > 0) log.info({ removed, dir }, 'removed temp files of interrupted uploads');
}
