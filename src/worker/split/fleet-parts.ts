import type { WorkerMachine } from '../../db/workers/worker-processes.ts';

/**
 * PARALLEL_ANALYSIS_PARTS=auto: one part per core that has a worker process on it. A
 * process parses on its one JS thread, so a machine gives min(its cores, its processes):
 * four processes on two cores are two parts, not four. P6 (1 GiB, 13.5M rows, 2-core
 * machine): 4 processes with 4 parts took 35.8 s against 32.0 s for 2 processes with 2
 * (2026-12-04; the extra parts only queue behind each other on the two cores, and add
 * contention and merge work); with 2 parts, 4 processes took 29.2, 26.7 and 27.7 s against
 * 26.4, 28.4 and 27.8 s for 2 (2026-12-05, `npx tsx bench/run.ts --only P6`). And one
 * process alone never splits: its parts would run one after another, and merging them is
 * work the one pass does not need.
 */
export function partsForFleet(machines: readonly WorkerMachine[], max: number): number {
  let parts = 0;
  for (const m of machines) parts += Math.min(m.cores, m.processes);
  return Math.min(parts, max);
}
