import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// Uploads stream into job_file_chunks as they arrive, before their job exists, so the
// chunks of a job-to-be are "staged": their job_id is the id the job will get, and a
// staged_uploads row says who is still writing them. The upload's one short transaction
// turns a staging into a job (insert the jobs row with that id, delete the staged row);
// a sweep deletes stagings whose writer is gone (cut off, refused, killed -9).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table staged_uploads (
      id uuid primary key,
      -- Which process writes it: host is hostname/boot id/pid namespace, so "pid not alive"
      -- is only ever asked of a pid in our own namespace; instance tells a restarted
      -- process with the same pid (pid 1 in a container) from its predecessor.
      host text not null,
      pid integer not null,
      instance uuid not null,
      created_at timestamptz not null default now(),
      -- Renewed by the writer while the upload is alive; a staging not renewed within the
      -- lease belongs to nobody, on whatever host it was written.
      heartbeat_at timestamptz not null default now()
    )
  `.execute(db);
  await sql`create index staged_uploads_heartbeat_idx on staged_uploads (heartbeat_at)`.execute(db);

  // Staged chunks have no jobs row yet, so the foreign key goes; deleting a job still
  // deletes its bytes, through a statement-level trigger (one delete for a bulk delete).
  await sql`alter table job_file_chunks drop constraint job_file_chunks_job_id_fkey`.execute(db);
  await sql`
    create function jobs_delete_file_chunks() returns trigger language plpgsql as $$
    begin
      delete from job_file_chunks c using gone where c.job_id = gone.id;
      return null;
    end $$
  `.execute(db);
  await sql`
    create trigger jobs_delete_file_chunks after delete on jobs
    referencing old table as gone
    for each statement execute function jobs_delete_file_chunks()
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger jobs_delete_file_chunks on jobs`.execute(db);
  await sql`drop function jobs_delete_file_chunks`.execute(db);
  await sql`delete from job_file_chunks c where not exists (select 1 from jobs j where j.id = c.job_id)`.execute(
    db,
  );
  await sql`
    alter table job_file_chunks add constraint job_file_chunks_job_id_fkey
      foreign key (job_id) references jobs (id) on delete cascade
  `.execute(db);
  await sql`drop table staged_uploads`.execute(db);
}
