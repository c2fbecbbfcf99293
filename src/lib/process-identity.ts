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

function namespaceKey(): string {
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNamespace = readlinkSync('/proc/self/ns/pid');
    return `${os.hostname()}/${bootId}/${pidNamespace}`;
  } catch {
    return `${os.hostname()}/unknown/${randomUUID()}`;
  }
}

/**
 * The machine this process runs on, as far as its cores go: the kernel's boot id, which
 * every container on one machine shares (unlike its hostname and pid namespace); off Linux,
 * the hostname.
 */
function machineKey(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return `host:${os.hostname()}`;
  }
}

export const thisMachine: string = machineKey();

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
