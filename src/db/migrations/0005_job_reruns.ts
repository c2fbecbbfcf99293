import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// A re-run (jobs.rerun) is a new job made from the bytes an earlier job stored; `rerun_of`
// names that earlier job, so an admin can follow a chain of corrections. `on delete set
// null`: deleting an old job must not take the re-runs (and their results) with it.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table jobs add column rerun_of uuid references jobs (id) on delete set null`.execute(db);
  // Partial: almost every job is no re-run. It serves the foreign key's check when a job is
  // deleted (without it, each delete scans jobs) and "which jobs re-ran this one".
  await sql`create index jobs_rerun_of_idx on jobs (rerun_of) where rerun_of is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table jobs drop column rerun_of`.execute(db);
}
