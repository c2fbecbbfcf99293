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

export interface WorkerPresence {
  /** The machines with live worker processes, this one included (split/fleet-parts.ts). */
  liveMachines: () => Promise<WorkerMachine[]>;
  /** Stops refreshing and deletes this process's row. */
  stop(): Promise<void>;
}

/** Registers this worker process (table worker_processes) and keeps its row fresh while it runs. */
export async function startWorkerPresence(
  db: Db,
  log: Logger,
  intervalMs = PRESENCE_INTERVAL_MS,
): Promise<WorkerPresence> {
  const row = { instance: randomUUID(), machine: thisMachine, cores: os.availableParallelism() };
  await refreshWorkerProcess(db.kysely, row);
  let stopped = false;
  const timer = setInterval(() => {
    refreshWorkerProcess(db.kysely, row).catch((error: unknown) => {
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
