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
 * The CPU seconds of the PostgreSQL server: the postmaster's own, its live children's (its
 * backends and helpers), and those of its children that exited, which the kernel adds to
 * the postmaster's cutime and cstime once it has reaped them. Without the last, a backend
 * that exited between two readings took its CPU with it (a P6 run once read -1.5 s).
 */
export function postgresCpu(postmaster: number): CpuSeconds {
  const fields = readFileSync(`/proc/${postmaster}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime, stime, cutime, cstime in clock ticks (USER_HZ 100)
  const sum = {
    user: (Number(fields[11]) + Number(fields[13])) / 100,
    system: (Number(fields[12]) + Number(fields[14])) / 100,
  };
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
