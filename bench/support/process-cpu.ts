import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds a process has used so far, user and system apart (/proc/<pid>/stat). */
export interface CpuSeconds {
  user: number;
  system: number;
}

export function cpuOf(pid: number): CpuSeconds {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime, stime in clock ticks (USER_HZ 100)
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** The PostgreSQL server's pid, from one of its backends' (the backend's parent). */
export function postmasterOf(backendPid: number): number {
  return Number(readFileSync(`/proc/${backendPid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
}

/**
 * The CPU seconds of every live child of `postmaster` (its backends and helpers). A backend
 * that exited meanwhile is not counted: measure with pools that stay connected.
 */
export function postgresCpu(postmaster: number): CpuSeconds {
  const sum = { user: 0, system: 0 };
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.split(') ')[1]?.split(' ')[1]) !== postmaster) continue;
      const cpu = cpuOf(Number(pid));
      sum.user += cpu.user;
      sum.system += cpu.system;
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

/** Milliseconds of CPU per job between two readings, "user + system". */
export function perJobMs(before: CpuSeconds, after: CpuSeconds, jobs: number): string {
  const ms = (s: number) => ((s * 1000) / jobs).toFixed(2);
  return `${ms(after.user + after.system - before.user - before.system)} (${ms(after.user - before.user)} user + ${ms(after.system - before.system)} sys)`;
}
