import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// Stable read-only views for people with psql (CONTRACT.md §7) and a NOLOGIN role,
// tally_readonly, that can read them and nothing else: not the file bytes
// (job_file_chunks), not results, not idempotency keys, not pg-boss's tables.
//
// pg-boss's state is joined in through tally_admin.queue_entries(), a plpgsql function
// that looks pgboss.job up by name at call time. That is deliberate, for two reasons:
// - our migrations run before pg-boss creates its schema (startTally, test template), so
//   a view naming pgboss.job directly could not be created here;
// - a view naming pgboss.job would be a pg_depend edge onto pg-boss's table, and the next
//   pg-boss upgrade that alters or re-creates that table ("cannot alter type of a column
//   used by a view") would fail at boss.start() in production. A function body is not
//   tracked, so pg-boss stays free to migrate and the view shows null until it exists.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create schema tally_admin`.execute(db);

  // SECURITY DEFINER so tally_readonly sees pg-boss's state for our queue without any
  // privilege on the pgboss schema; it returns timings and state only, never `data` or
  // `output`. search_path is pinned, as every SECURITY DEFINER function's must be.
  await sql`
    create function tally_admin.queue_entries()
    returns table (
      id uuid, state text, retry_count integer,
      created_on timestamptz, started_on timestamptz, completed_on timestamptz
    )
    language plpgsql stable security definer
    set search_path = pg_catalog, pg_temp
    rows 1000
    as $$
    begin
      if to_regclass('pgboss.job') is null then
        return;
      end if;
      return query execute
        'select id, state::text, retry_count, created_on, started_on, completed_on
           from pgboss.job where name = $1'
        using 'tally-analysis';
    end $$
  `.execute(db);
  await sql`revoke all on function tally_admin.queue_entries() from public`.execute(db);

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
      -- Last visible change (progress writes bump it): a running job whose last_change_at
      -- is minutes old is stuck, whatever pg-boss thinks.
      j.updated_at as last_change_at,
      j.started_at - j.created_at as queue_wait,
      coalesce(j.finished_at, now()) - j.started_at as duration,
      j.error_code,
      j.error_message,
      j.file_deleted_at is not null as file_deleted,
      q.state as queue_state,
      q.retry_count as queue_retry_count,
      q.started_on as queue_started_on,
      q.completed_on as queue_completed_on
    from public.jobs j
    left join tally_admin.queue_entries() q on q.id = j.id
  `.execute(db);

  // One row. Counts by state scan the jobs table (fine for an admin at psql; the /metrics
  // gauge counts only queued and running, which the partial index jobs_state_idx covers).
  await sql`
    create view tally_admin.queue_health as
    select
      count(*) filter (where state = 'queued') as queued,
      count(*) filter (where state = 'running') as running,
      count(*) filter (where state = 'completed') as completed,
      count(*) filter (where state = 'failed') as failed,
      count(*) filter (where state = 'cancelled') as cancelled,
      now() - min(created_at) filter (where state = 'queued') as oldest_queued_age,
      percentile_cont(0.5) within group (order by extract(epoch from finished_at - started_at))
        filter (where state = 'completed' and finished_at > now() - interval '1 hour') as run_seconds_p50_1h,
      percentile_cont(0.95) within group (order by extract(epoch from finished_at - started_at))
        filter (where state = 'completed' and finished_at > now() - interval '1 hour') as run_seconds_p95_1h,
      count(*) filter (where state = 'completed' and finished_at > now() - interval '1 hour') as completed_1h,
      count(*) filter (where state = 'failed' and finished_at > now() - interval '1 hour') as failures_1h
    from public.jobs
  `.execute(db);

  await sql`
    create view tally_admin.failures as
    select id, owner, filename, bytes, attempts, error_code, error_message,
           created_at, started_at, finished_at
    from public.jobs
    where state = 'failed' and finished_at > now() - interval '7 days'
    order by finished_at desc
  `.execute(db);

  // Roles are cluster-wide: the role may already exist (another database, an earlier run),
  // and test databases migrate in parallel, so a concurrent CREATE ROLE can lose the race
  // between the check and the insert (duplicate_object, or unique_violation on pg_authid).
  // A managed PostgreSQL may not give the app user CREATEROLE: then an admin creates the
  // role once (docs/operations.md) and re-runs the grants; the app still starts.
  await sql`
    do $$
    begin
      if not exists (select 1 from pg_roles where rolname = 'tally_readonly') then
        begin
          create role tally_readonly nologin;
        exception
          when duplicate_object or unique_violation then null;
          when insufficient_privilege then
            raise warning 'tally_readonly not created (no CREATEROLE); create it and grant as docs/operations.md says';
        end;
      end if;
      if exists (select 1 from pg_roles where rolname = 'tally_readonly') then
        grant usage on schema tally_admin to tally_readonly;
        grant select on tally_admin.jobs, tally_admin.queue_health, tally_admin.failures to tally_readonly;
        grant execute on function tally_admin.queue_entries() to tally_readonly;
      end if;
    end $$
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // The role stays: it is cluster-wide and other databases may grant to it.
  await sql`drop schema tally_admin cascade`.execute(db);
}
