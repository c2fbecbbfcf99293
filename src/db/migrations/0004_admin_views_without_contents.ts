import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// CONTRACT.md §7: tally_readonly reads nothing that holds file contents. A job's
// error_message is written for its owner and quotes the file: cells that could not be read,
// header names, sample values ("amount \"SSN 123-45-6789\""). Found in the review of
// 2026-12-01 (issue 14, item 7). The admin views therefore drop error_message and show
// error_hint instead: a fixed sentence per error code, content-free by construction whatever
// a future message says. The owner still reads the full message through the API; a database
// superuser can read public.jobs.
//
// Views cannot lose a column with CREATE OR REPLACE, so jobs and failures are re-created (their
// bodies repeat 0002's on purpose: a migration is frozen and never imports another) and
// the role's grants re-applied (the same tolerant block as 0002: the role may be missing on a
// managed PostgreSQL without CREATEROLE).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function tally_admin.error_hint(code text) returns text
    language sql immutable
    set search_path = pg_catalog, pg_temp
    as $$
      select case code
        when 'INVALID_CSV' then 'the file is not CSV the analysis can read (its owner sees which part)'
        when 'NO_VALID_ROWS' then 'no row had a readable date and amount (its owner sees sample values)'
        when 'DECOMPRESSED_TOO_LARGE' then 'the gzip file inflates past MAX_DECOMPRESSED_BYTES'
        when 'ANALYSIS_TOO_LARGE' then 'the analysis needed more temporary disk than SPILL_MAX_BYTES'
        when 'CANCELLED' then 'cancelled by its owner'
        when 'RETRIES_EXHAUSTED' then 'transient failures (database, worker lost) on every attempt; see worker logs'
        when 'INTERNAL' then 'an internal error; see the worker logs for the job id'
        else case when code is null then null else 'see the worker logs for the job id' end
      end
    $$
  `.execute(db);

  await sql`drop view tally_admin.jobs`.execute(db);
  await sql`
    create view tally_admin.jobs as
    select
      j.id,
      j.owner,
      j.state,
      j.filename,
      j.bytes,
      j.compression,
      j.rows_processed as rows,
      j.bytes_processed,
      j.attempts,
      j.created_at,
      j.started_at,
      j.finished_at,
      j.updated_at as last_change_at,
      j.started_at - j.created_at as queue_wait,
      coalesce(j.finished_at, now()) - j.started_at as duration,
      j.error_code,
      tally_admin.error_hint(j.error_code) as error_hint,
      j.file_deleted_at is not null as file_deleted,
      q.state as queue_state,
      q.retry_count as queue_retry_count,
      q.started_on as queue_started_on,
      q.completed_on as queue_completed_on
    from public.jobs j
    left join tally_admin.queue_entries() q on q.id = j.id
  `.execute(db);

  await sql`drop view tally_admin.failures`.execute(db);
  await sql`
    create view tally_admin.failures as
    select id, owner, filename, bytes, attempts, error_code,
           tally_admin.error_hint(error_code) as error_hint,
           created_at, started_at, finished_at
    from public.jobs
    where state = 'failed' and finished_at > now() - interval '7 days'
    order by finished_at desc
  `.execute(db);

  await sql`
    do $$
    begin
      if exists (select 1 from pg_roles where rolname = 'tally_readonly') then
        grant select on tally_admin.jobs, tally_admin.failures to tally_readonly;
        grant execute on function tally_admin.error_hint(text) to tally_readonly;
      end if;
    end $$
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Back to 0002's views (with error_message).
  await sql`drop view tally_admin.failures`.execute(db);
  await sql`drop view tally_admin.jobs`.execute(db);
  await sql`drop function tally_admin.error_hint(text)`.execute(db);
  throw new Error('0004 down: re-run 0002 to restore the views with error_message');
}
