import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isProcessAlive } from './process-alive.ts';
import { thisProcess, type ProcessIdentity } from './process-identity.ts';

/**
 * Entries (files or directories) a process keeps in a directory it may share with other
 * processes — other containers too, when the directory is a shared volume. A bare pid in
 * the name cannot say whose an entry is: pid 7 of another container is not our pid 7,
 * and "is pid 7 alive here?" would delete a living analysis's files. So names carry the
 * pid namespace as well: `<host>-<pid>-<uuid>`, `host` being 16 hex digits of the SHA-256
 * of `thisProcess.host` (hostname + boot id + pid-namespace inode, see process-identity).
 *
 * The sweep removes an entry
 *   - of our namespace whose pid is dead, or is ours (we are sweeping at start-up, so an
 *     entry with our pid is a predecessor's: a restarted process often gets the same pid);
 *   - of any other namespace (or without one: the older `<pid>-<uuid>` names) only when
 *     nothing in it has changed for `leaseMs`: its process may be alive elsewhere, and only
 *     its silence says it is not.
 */
export function entryName(self: ProcessIdentity = thisProcess): string {
  return `${hostTag(self.host)}-${self.pid}-${randomUUID()}`;
}

const TAGGED = /^([0-9a-f]{16})-(\d+)-[0-9a-f-]{36}(?:\.[a-z]+)?$/;
const UNTAGGED = /^\d+-[0-9a-f-]{36}(?:\.[a-z]+)?$/;

export interface SweepOptions {
  /** Entries of other namespaces, or untagged, are removed once unchanged this long. */
  leaseMs: number;
  self?: ProcessIdentity;
  now?: number;
}

/** Removes the entries of `dir` whose process is gone (see above); returns how many. */
export async function removeEntriesOfDeadProcesses(dir: string, opts: SweepOptions): Promise<number> {
  const self = opts.self ?? thisProcess;
  const ownTag = hostTag(self.host);
  const now = opts.now ?? Date.now();
  let removed = 0;
  for (const name of await fs.readdir(dir)) {
    const full = path.join(dir, name);
    const tagged = TAGGED.exec(name);
    let gone: boolean;
    if (tagged && tagged[1] === ownTag) {
      const pid = Number(tagged[2]);
      gone = pid === self.pid || !isProcessAlive(pid);
    } else if (tagged || UNTAGGED.test(name)) {
      gone = now - (await lastChangeMs(full)) > opts.leaseMs;
    } else {
      continue; // not ours at all
    }
    if (gone) {
      await fs.rm(full, { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

function hostTag(host: string): string {
  return createHash('sha256').update(host).digest('hex').slice(0, 16);
}

/** The newest mtime of the entry and (for a directory) its direct children. */
async function lastChangeMs(entry: string): Promise<number> {
  try {
    const s = await fs.stat(entry);
    let newest = s.mtimeMs;
    if (s.isDirectory()) {
      for (const child of await fs.readdir(entry)) {
        const c = await fs.stat(path.join(entry, child)).catch(() => undefined);
        if (c && c.mtimeMs > newest) newest = c.mtimeMs;
      }
    }
    return newest;
  } catch {
    return Number.POSITIVE_INFINITY; // gone meanwhile: nothing to remove
  }
}
