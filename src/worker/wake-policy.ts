import type { Logger } from '../logger.ts';
import { ANALYSIS_QUEUE } from '../queue/boss.ts';
import type { ClaimExtensions } from '../queue/claim-extension.ts';
import type { MachinePlace } from './worker-presence.ts';

/**
 * Which worker processes act on a new job's NOTIFY: on each machine, the first ones whose
 * slots (WORKER_CONCURRENCY each) cover its cores.
 *
 * Every NOTIFY wakes every idle worker process, and each sends a claim. With slots for the
 * cores and no more, the jobs that arrive while they all work wait for the next claim and
 * go in runs (a claim takes up to eight small jobs, worker/start-on-claim.ts). With more
 * slots than cores, some slot is always idle: each job is claimed alone as it comes, the
 * other processes' claims on the same NOTIFY come back empty, and the slots contend for
 * the cores. 2,000 small jobs on a 2-core machine, processes of two slots
 * (`BENCH_WORKERS=1,2,4 npx tsx bench/small-jobs.bench.ts`, 2026-12-06, docs/performance.md):
 * four processes ran 0.47–0.59× the jobs a second of one, the workers' CPU per job 2.6–3.7 ms
 * against 0.9–1.0; with the processes beyond the cores polling, four ran 0.66–0.67× and two
 * still 0.70–0.73×. With the rule on slots: two 1.04–1.11×, four 0.86–0.93× (1.2–1.7 ms).
 *
 * So a process behind live processes on its machine (worker_processes, in the order they
 * started) that have a slot per core leaves new analysis jobs to them: it still polls the
 * queue every 2 s and, while its claims find more waiting, claims again at once, so it takes
 * its share of a backlog the first processes cannot keep up with, and all of the queue if
 * they stop. A job that comes while every slot of the first processes is busy waits for a
 * poll (up to 2 s); those slots already keep the cores busy. A process that dies keeps its
 * place for up to the presence TTL (35 s): until then the processes behind it only poll.
 * Parts of split files are not held back: a split plans no more parts than its machines
 * have cores. Containers on one machine share its boot id; one with a CPU limit of its own
 * (lib/cpu-quota.ts) does not share the machine's cores as the others do, and acts on every
 * NOTIFY (roles/worker-role.ts).
 */
export function beyondCores(place: MachinePlace): boolean {
  return place.slotsAhead >= place.cores;
}

/** Sets `claims`' poll-only analysis queue from each presence refresh; logs each change. */
export function wakePolicy(claims: ClaimExtensions, log: Logger): (place: MachinePlace) => void {
  return (place) => {
    const pollOnly = beyondCores(place);
    if (pollOnly === claims.pollOnly.has(ANALYSIS_QUEUE)) return;
    if (pollOnly) claims.pollOnly.add(ANALYSIS_QUEUE);
    else claims.pollOnly.delete(ANALYSIS_QUEUE);
    log.info(
      { ahead: place.ahead, slotsAhead: place.slotsAhead, cores: place.cores },
      pollOnly
        ? 'the worker processes before this one on its machine have a slot per core: new jobs are left to them, this one polls'
        : 'this worker process acts on new jobs at once: those before it on its machine leave cores without a slot',
    );
  };
}
