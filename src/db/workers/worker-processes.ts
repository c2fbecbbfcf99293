import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** One live worker process's row (migration 0013). */
export interface WorkerProcessRow {
  instance: string;
  /** The kernel's boot id: processes in containers on one machine share it. */
  machine: string;
  cores: number;
}

/** A machine with worker processes seen lately: its cores and how many processes run there. */
export interface WorkerMachine {
  cores: number;
  processes: number;
}

/** Rows not refreshed for this long are processes that died without deleting theirs: swept. */
const SWEEP_AFTER = '10 minutes';

/**
 * Says this process is alive (its row inserted, or `seen_at` refreshed), and sweeps rows
 * that died long ago, in one statement: the table stays as small as the fleet.
 */
export async function refreshWorkerProcess(db: Kysely<Database>, row: WorkerProcessRow): Promise<void> {
  await sql`
    with swept as (delete from worker_processes where seen_at < now() - ${SWEEP_AFTER}::interval)
    insert into worker_processes (instance, machine, cores)
    values (${row.instance}, ${row.machine}, ${row.cores})
    on conflict (instance) do update set seen_at = now()
  `.execute(db);
}

export async function removeWorkerProcess(db: Kysely<Database>, instance: string): Promise<void> {
  await sql`delete from worker_processes where instance = ${instance}`.execute(db);
}

/** The machines with a worker process seen in the last `withinSeconds`. */
export async function liveWorkerMachines(
  db: Kysely<Database>,
  withinSeconds: number,
): Promise<WorkerMachine[]> {
  const { rows } = await sql<{ cores: number; processes: number }>`
    select max(cores)::int as cores, count(*)::int as processes
    from worker_processes
    where seen_at > now() - make_interval(secs => ${withinSeconds})
    group by machine
  `.execute(db);
  return rows;
}
