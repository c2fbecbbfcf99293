import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table jobs (
      id uuid primary key,
      owner text not null,
      state text not null check (state in ('queued', 'running', 'completed', 'failed', 'cancelled')),
      version integer not null default 1,
      filename text not null,
      bytes bigint not null check (bytes >= 0),
      sha256 text not null,
      compression text not null check (compression in ('none', 'gzip')),
      options jsonb not null default '{}',
      delimiter text not null,
      attempts integer not null default 0,
      attempt_token uuid,
      bytes_processed bigint not null default 0,
      rows_processed bigint not null default 0,
      error_code text,
      error_message text,
      error_details jsonb,
      result jsonb,
      created_at timestamptz not null default now(),
      started_at timestamptz,
      finished_at timestamptz,
      updated_at timestamptz not null default now(),
      file_deleted_at timestamptz
    )
  `.execute(db);
  // Job ids are UUIDv7 (time-ordered), so jobs.list pages newest-first on (owner, id) alone.
  await sql`create index jobs_owner_id_idx on jobs (owner, id desc)`.execute(db);
  await sql`create index jobs_state_idx on jobs (state) where state in ('queued', 'running')`.execute(db);
  // The retention sweep looks for finished jobs whose bytes are still stored.
  await sql`create index jobs_file_retention_idx on jobs (finished_at) where file_deleted_at is null and finished_at is not null`.execute(
    db,
  );

  // Every change a client can see bumps `version` (long polls wait on it) and wakes
  // long-polling API processes on any host through NOTIFY.
  await sql`
    create function jobs_bump_version() returns trigger language plpgsql as $$
    begin
      new.version := old.version + 1;
      new.updated_at := now();
      return new;
    end $$
  `.execute(db);
  await sql`
    create trigger jobs_bump_version before update on jobs
    for each row when (
      (old.state, old.bytes_processed, old.rows_processed, old.attempts, old.error_code, old.started_at, old.finished_at)
      is distinct from
      (new.state, new.bytes_processed, new.rows_processed, new.attempts, new.error_code, new.started_at, new.finished_at)
    )
    execute function jobs_bump_version()
  `.execute(db);
  await sql`
    create function jobs_notify_change() returns trigger language plpgsql as $$
    begin
      perform pg_notify('tally_job_changed', new.id::text || ':' || new.version::text);
      return null;
    end $$
  `.execute(db);
  await sql`
    create trigger jobs_notify_change after update on jobs
    for each row when (old.version is distinct from new.version)
    execute function jobs_notify_change()
  `.execute(db);

  // The uploaded bytes, in PostgreSQL so that a worker on any host needs only DATABASE_URL.
  await sql`
    create table job_file_chunks (
      job_id uuid not null references jobs (id) on delete cascade,
      seq integer not null,
      data bytea not null,
      primary key (job_id, seq)
    )
  `.execute(db);
  // CSV chunks are stored as sent (gzip uploads are already compressed); pglz on 1 MiB
  // chunks would cost CPU on every upload for a disk saving nobody asked for.
  await sql`alter table job_file_chunks alter column data set storage external`.execute(db);

  await sql`
    create table idempotency_keys (
      owner text not null,
      key text not null,
      -- Deferred: the key is claimed first in the upload transaction, before the job row
      -- and its bytes are written, so a duplicate upload stops before storing anything.
      job_id uuid not null references jobs (id) on delete cascade deferrable initially deferred,
      created_at timestamptz not null default now(),
      primary key (owner, key)
    )
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table idempotency_keys`.execute(db);
  await sql`drop table job_file_chunks`.execute(db);
  await sql`drop table jobs`.execute(db);
  await sql`drop function jobs_notify_change`.execute(db);
  await sql`drop function jobs_bump_version`.execute(db);
}
