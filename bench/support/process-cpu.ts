import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds a process has used so far, user and system apart (/proc/<pid>/stat). */
export interface CpuSeconds {
  user: number;
  system: number;
}

/**
 * The fields of /proc/<pid>/stat after the command name (which may hold spaces), from 0:
 * [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime (times in clock ticks, USER_HZ 100).
 */
function statFields(pid: number | string): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
}

const ticks = (field: string | undefined) => Number(field) / 100;

export function cpuOf(pid: number): CpuSeconds {
  const fields = statFields(pid);
  return { user: ticks(fields[11]), system: ticks(fields[12]) };
}

/** The PostgreSQL server's pid, from one of its backends' (the backend's parent). */
export function postmasterOf(backendPid: number): number {
  return Number(statFields(backendPid)[1]);
}

/**
 * The CPU seconds of the PostgreSQL server: the postmaster's own, its live children's (its
 * backends and helpers), and those of its children that exited, which the kernel adds to
 * the postmaster's cutime and cstime once it has reaped them. Without the last, a backend
 * that exited between two readings took its CPU with it (a P6 run once read -1.5 s).
 */
export function postgresCpu(postmaster: number): CpuSeconds {
  const own = statFields(postmaster);
  const sum = { user: ticks(own[11]) + ticks(own[13]), system: ticks(own[12]) + ticks(own[14]) };
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const fields = statFields(pid);
      if (Number(fields[1]) !== postmaster) continue;
      sum.user += ticks(fields[11]);
      sum.system += ticks(fields[12]);
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
