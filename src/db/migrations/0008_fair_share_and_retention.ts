import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// Fair share: an upload's place in the queue depends on how many jobs its owner already has
// in flight (src/queue/fair-share.ts); this counts them from the owner's queued and running
// rows alone, however many finished jobs the owner has (a million finished rows cost nothing).
//
// Retention (JOB_RETENTION_DAYS): finished jobs whose bytes are gone, oldest first.
// jobs_file_retention_idx holds the other half (bytes still stored).
//
// Plain CREATE INDEX (migrations run in a transaction): it blocks writes to `jobs` while it
// builds, ~1 s per million rows on this 2-core machine. An operator with a bigger table can
// build the same indexes CONCURRENTLY by hand first; `if not exists` then skips them here.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index if not exists jobs_owner_in_flight_idx on jobs (owner) where state in ('queued', 'running')`.execute(
    db,
  );
  // jobs.list with a state filter (the UI's tabs): the owner's jobs of that state, newest
  // first, without walking past the owner's other (a million finished) jobs.
  await sql`create index if not exists jobs_owner_state_id_idx on jobs (owner, state, id desc)`.execute(db);
  await sql`create index if not exists jobs_finished_at_idx on jobs (finished_at) where finished_at is not null and file_deleted_at is not null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists jobs_finished_at_idx`.execute(db);
  await sql`drop index if exists jobs_owner_state_id_idx`.execute(db);
  await sql`drop index if exists jobs_owner_in_flight_idx`.execute(db);
}
