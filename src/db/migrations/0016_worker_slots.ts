import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// Each live worker process also says how many analysis jobs it runs at once (its
// WORKER_CONCURRENCY). A process acts on new jobs' NOTIFYs only while the processes that
// started before it on its machine have fewer slots than the machine has cores; behind them
// it finds jobs by its poll (worker/wake-policy.ts). Rows of processes started before this
// migration count one slot each until their next refresh after a restart.

/** The view's columns as migration 0013 made them. */
const columns = sql`
  w.machine,
  w.cores,
  w.instance,
  w.started_at,
  w.seen_at,
  w.seen_at > now() - interval '35 seconds' as live`;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table worker_processes add column slots integer not null default 1 check (slots > 0)`.execute(
    db,
  );
  // A view's new column goes last: what an admin's query selected keeps its place, and
  // `create or replace` keeps the view's grants.
  await sql`create or replace view tally_admin.workers as select ${columns}, w.slots from public.worker_processes w`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  // A view cannot lose a column in place: dropped, made again, granted again.
  await sql`drop view tally_admin.workers`.execute(db);
  await sql`create view tally_admin.workers as select ${columns} from public.worker_processes w`.execute(db);
  await sql`
    do $$
    begin
      if exists (select 1 from pg_roles where rolname = 'tally_readonly') then
        grant select on tally_admin.workers to tally_readonly;
      end if;
    end $$
  `.execute(db);
  await sql`alter table worker_processes drop column slots`.execute(db);
}
