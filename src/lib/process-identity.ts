import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import { isProcessAlive } from './process-alive.ts';

/**
 * Who this process is, for rows it owns while alive (staged uploads). `host` names the pid
 * namespace, not just the machine: hostname + kernel boot id + pid namespace inode. Two
 * containers with one hostname (host networking) or a host after a reboot are different
 * hosts, so "is pid N alive?" is asked only where pid N means the same process. Off Linux
 * the key is random per process: the pid shortcut never applies and only leases decide.
 */
export interface ProcessIdentity {
  host: string;
  pid: number;
  /** New at every start: tells a restarted process with the same pid (pid 1 in a container) from its predecessor. */
  instance: string;
}

/** The kernel's boot id; undefined off Linux. */
function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

const bootId = readBootId();

function namespaceKey(): string {
  const unknown = () => `${os.hostname()}/unknown/${randomUUID()}`;
  if (bootId === undefined) return unknown();
  try {
    return `${os.hostname()}/${bootId}/${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return unknown();
  }
}

/**
 * The machine this process runs on, as far as its cores go: the kernel's boot id, which
 * every container on one machine shares (unlike its hostname and pid namespace); off Linux,
 * the hostname.
 */
export const thisMachine: string = bootId ?? `host:${os.hostname()}`;

export const thisProcess: ProcessIdentity = {
  host: namespaceKey(),
  pid: process.pid,
  instance: randomUUID(),
};

/** Is the process that wrote `owner` certainly gone? Only answerable for our own namespace. */
export function ownerIsGone(owner: ProcessIdentity, self: ProcessIdentity = thisProcess): boolean {
  if (owner.host !== self.host) return false;
  if (owner.pid === self.pid) return owner.instance !== self.instance;
  return !isProcessAlive(owner.pid);
}
