import { readFileSync } from 'node:fs';

/**
 * The CPUs this process's cgroup may use (a container's `--cpus`, a pod's CPU limit), or
 * null when nothing limits it below its machine's cores. A process with a limit of its own
 * does not share its machine's cores with the other processes there the way processes
 * without one do (worker/wake-policy.ts). cgroup v2 (`cpu.max`) and v1 (`cpu.cfs_quota_us`);
 * null off Linux or where the files cannot be read.
 */
export function cpuQuota(read: (path: string) => string | undefined = readOrUndefined): number | null {
  const cgroups = read('/proc/self/cgroup');
  if (cgroups === undefined) return null;
  for (const line of cgroups.split('\n')) {
    const [id, controllers, path] = splitCgroupLine(line);
    if (path === undefined) continue;
    if (id === '0' && controllers === '') {
      const max = read(`/sys/fs/cgroup${trimSlash(path)}/cpu.max`) ?? read('/sys/fs/cgroup/cpu.max');
      const quota = max === undefined ? null : parseCpuMax(max);
      if (quota !== null) return quota;
    } else if (controllers?.split(',').includes('cpu')) {
      for (const mount of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
        const quota = read(`${mount}${trimSlash(path)}/cpu.cfs_quota_us`);
        const period = read(`${mount}${trimSlash(path)}/cpu.cfs_period_us`);
        if (quota !== undefined && period !== undefined) return parseCfs(quota, period);
      }
    }
  }
  return null;
}

/** cgroup v2's `cpu.max`: "max 100000" (no limit) or "<quota> <period>" in microseconds. */
export function parseCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return null;
  return ratio(Number(quota), Number(period ?? 100_000));
}

/** cgroup v1's `cpu.cfs_quota_us` (-1: no limit) over `cpu.cfs_period_us`. */
export function parseCfs(quota: string, period: string): number | null {
  return ratio(Number(quota.trim()), Number(period.trim()));
}

function ratio(quota: number, period: number): number | null {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return null;
  return quota / period;
}

function splitCgroupLine(line: string): [string, string, string] | [] {
  const first = line.indexOf(':');
  const second = line.indexOf(':', first + 1);
  if (first < 0 || second < 0) return [];
  return [line.slice(0, first), line.slice(first + 1, second), line.slice(second + 1)];
}

const trimSlash = (path: string) => (path === '/' ? '' : path.replace(/\/$/, ''));

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
