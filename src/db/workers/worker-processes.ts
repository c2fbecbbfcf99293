import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** One live worker process's row (migration 0013). */
export interface WorkerProcessRow {
  instance: string;
  /** The kernel's boot id: processes in containers on one machine share it. */
  machine: string;
  cores: number;
  /** Analysis jobs it runs at once (WORKER_CONCURRENCY). */
  slots: number;
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
 * that died long ago, in one statement: the table stays as small as the fleet. Answers how
 * many live processes (seen in the last `withinSeconds`) on this process's machine started
 * before it (started_at, then instance, breaks ties), and their slots: its place among its
 * machine's workers.
 */
export async function refreshWorkerProcess(
  db: Kysely<Database>,
  row: WorkerProcessRow,
  withinSeconds: number,
): Promise<{ ahead: number; slotsAhead: number }> {
  // The statement's snapshot holds the table as it was before its own insert: `self` (the
  // upserted row) gives this process's started_at, the table the others' rows.
  const { rows } = await sql<{ ahead: number; slotsAhead: number }>`
    with swept as (delete from worker_processes where seen_at < now() - ${SWEEP_AFTER}::interval),
    self as (
      insert into worker_processes (instance, machine, cores, slots)
      values (${row.instance}, ${row.machine}, ${row.cores}, ${row.slots})
      on conflict (instance) do update set seen_at = now()
      returning instance, machine, started_at
    )
    select count(w.instance)::int as ahead, coalesce(sum(w.slots), 0)::int as "slotsAhead"
    from self
    left join worker_processes w
      on w.machine = self.machine
     and w.instance <> self.instance
     and w.seen_at > now() - make_interval(secs => ${withinSeconds})
     and (w.started_at, w.instance) < (self.started_at, self.instance)
  `.execute(db);
  return { ahead: rows[0]?.ahead ?? 0, slotsAhead: rows[0]?.slotsAhead ?? 0 };
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
