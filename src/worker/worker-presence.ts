import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Db } from '../db/database.ts';
import {
  liveWorkerMachines,
  refreshWorkerProcess,
  removeWorkerProcess,
  type WorkerMachine,
} from '../db/workers/worker-processes.ts';
import { thisMachine } from '../lib/process-identity.ts';
import type { Logger } from '../logger.ts';

/**
 * How often a worker process says it is alive, and how long after its last word it counts
 * as gone. A process that dies stops counting within the TTL; until then a split may plan a
 * part too many, which the live workers still run (a little later), so the TTL trades a
 * rare late part against a row per process refreshed three times a minute.
 */
export const PRESENCE_INTERVAL_MS = 10_000;
export const PRESENCE_TTL_SECONDS = 35;

/** Where this process stands on its machine, as of its last refresh. */
export interface MachinePlace {
  /** Live worker processes on this machine that started before this one. */
  ahead: number;
  /** Their slots (analysis jobs at once), together. */
  slotsAhead: number;
  /** This machine's cores. */
  cores: number;
}

export interface WorkerPresence {
  /** The machines with live worker processes, this one included (split/fleet-parts.ts). */
  liveMachines: () => Promise<WorkerMachine[]>;
  /** Stops refreshing and deletes this process's row. */
  stop(): Promise<void>;
}

export interface WorkerPresenceOptions {
  /** This process's analysis slots (WORKER_CONCURRENCY); 1 if unset. */
  slots?: number;
  intervalMs?: number;
  /** Called after every refresh (the first before startWorkerPresence returns). */
  onPlace?: (place: MachinePlace) => void;
}

/** Registers this worker process (table worker_processes) and keeps its row fresh while it runs. */
export async function startWorkerPresence(
  db: Db,
  log: Logger,
  { slots = 1, intervalMs = PRESENCE_INTERVAL_MS, onPlace }: WorkerPresenceOptions = {},
): Promise<WorkerPresence> {
  const row = { instance: randomUUID(), machine: thisMachine, cores: os.availableParallelism(), slots };
  const refresh = async () => {
    const place = await refreshWorkerProcess(db.kysely, row, PRESENCE_TTL_SECONDS);
    onPlace?.({ ...place, cores: row.cores });
  };
  await refresh();
  let stopped = false;
  const timer = setInterval(() => {
    refresh().catch((error: unknown) => {
      if (!stopped) log.warn({ err: error }, 'could not refresh this worker process’s presence');
    });
  }, intervalMs);
  timer.unref();
  return {
    liveMachines: () => liveWorkerMachines(db.kysely, PRESENCE_TTL_SECONDS),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await removeWorkerProcess(db.kysely, row.instance).catch((error: unknown) =>
        log.warn({ err: error }, 'could not remove this worker process’s presence; it expires on its own'),
      );
    },
  };
}
