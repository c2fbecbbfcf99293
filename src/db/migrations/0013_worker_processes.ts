import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// The worker processes alive now, each with the machine it runs on (the kernel's boot id,
// which containers on one machine share) and that machine's cores. A big file is split into
// as many parts as there are cores with a worker process on them (PARALLEL_ANALYSIS_PARTS=auto):
// more parts than that only queue behind each other, and each costs its share of the scan
// and the merge. A process refreshes `seen_at` while it runs and deletes its row when it
// stops; a row not refreshed for a while is a process that died, and is ignored (and swept).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table worker_processes (
      instance uuid primary key,
      machine text not null,
      cores integer not null check (cores > 0),
      started_at timestamptz not null default now(),
      seen_at timestamptz not null default now()
    )
  `.execute(db);

  // For people with psql: which worker processes run where, and which went quiet.
  await sql`
    create view tally_admin.workers as
    select
      w.machine,
      w.cores,
      w.instance,
      w.started_at,
      w.seen_at,
      w.seen_at > now() - interval '35 seconds' as live
    from public.worker_processes w
  `.execute(db);
  await sql`
    do $$
    begin
      if exists (select 1 from pg_roles where rolname = 'tally_readonly') then
        grant select on tally_admin.workers to tally_readonly;
      end if;
    end $$
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop view tally_admin.workers`.execute(db);
  await sql`drop table worker_processes`.execute(db);
}
