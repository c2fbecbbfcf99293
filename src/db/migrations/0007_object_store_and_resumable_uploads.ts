import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// Issue 21: uploaded bytes may live in an S3-compatible object store (FILE_STORE=s3), and
// uploads may be resumable (tus, /api/uploads).
//
// - jobs.file_store: where a job's bytes are. A deployment that switches FILE_STORE keeps
//   reading (and expiring) older jobs' bytes where they were written; the default keeps
//   every existing row 'postgres', as it is.
// - s3_multipart_uploads: an object being written. S3 cannot list what a crash left on every
//   server (ListMultipartUploads is optional; fauxqs has none), so each multipart upload is
//   recorded here, under its staging's id, before any part is sent; the sweep aborts it by
//   that record. A suspended (resumable) staging also keeps its completed parts (number,
//   ETag, size) and the length of its tail (bytes short of S3's 5 MiB minimum part, kept as
//   a small object beside it), so that any host continues it.
// - resumable_uploads: one tus upload (CONTRACT §2.2): who owns it, its length and metadata,
//   the offset committed so far, and a lease that makes one PATCH at a time write it, on
//   whatever host (no in-process lock). `job_id` is set by the PATCH that completes it; the
//   row stays until `expires_at` so a client that lost that answer can HEAD it again.
// - tally_admin.job_files: where each job's bytes live, for people with psql.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table jobs add column file_store text not null default 'postgres'
      check (file_store in ('postgres', 's3'))
  `.execute(db);

  await sql`
    create table s3_multipart_uploads (
      id uuid primary key,
      object_key text not null,
      upload_id text,
      parts jsonb not null default '[]',
      tail_bytes bigint not null default 0,
      created_at timestamptz not null default now()
    )
  `.execute(db);

  await sql`
    create table resumable_uploads (
      id uuid primary key,
      owner text not null,
      upload_length bigint not null check (upload_length >= 0),
      upload_offset bigint not null default 0,
      filename text not null,
      options_text text,
      idempotency_key text,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      -- One PATCH at a time: the request holding the lease writes; a host that died lets go
      -- when locked_until passes.
      lock_token uuid,
      locked_until timestamptz,
      job_id uuid
    )
  `.execute(db);
  await sql`create index resumable_uploads_expires_idx on resumable_uploads (expires_at)`.execute(db);

  await sql`
    create view tally_admin.job_files as
    select j.id, j.owner, j.state, j.bytes, j.file_store as store,
           case when j.file_deleted_at is not null then 'deleted by retention'
                when j.file_store = 's3' then 'object <S3_PREFIX>' || j.id::text
                else 'job_file_chunks' end as location,
           j.file_deleted_at
      from public.jobs j
  `.execute(db);
  await sql`
    do $$
    begin
      if exists (select 1 from pg_roles where rolname = 'tally_readonly') then
        grant select on tally_admin.job_files to tally_readonly;
      end if;
    end $$
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop view tally_admin.job_files`.execute(db);
  await sql`drop table resumable_uploads`.execute(db);
  await sql`drop table s3_multipart_uploads`.execute(db);
  await sql`alter table jobs drop column file_store`.execute(db);
}
