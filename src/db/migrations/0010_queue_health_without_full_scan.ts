import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// tally_admin.queue_health read the whole jobs table: its all-time counts by state, and its
// last-hour figures filtered on finished_at with no index to find them. With a million
// finished jobs that was a 1M-row scan per look. Now each part reads only what it shows:
// - queued, running and the oldest queued age: the live rows alone, through the partial
//   index jobs_state_idx (0001);
// - the last hour's counts and run-time percentiles: through a new index on finished_at;
// - completed, failed, cancelled (all-time, as before: the columns keep their meaning): from
//   job_state_counts, a ledger of changes that triggers append to in the same transaction as
//   the change. Append-only, so concurrent workers never wait on a shared counter row (an
//   UPDATE of one row per state would serialise every claim and completion); the worker's
//   maintenance pass folds it into one row per state (src/db/jobs/fold-state-counts.ts), so
//   the view sums a few rows plus at most one pass's worth of changes.
// The view keeps every column, name, type and order (CREATE OR REPLACE keeps the grants).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table job_state_counts (state text not null, n bigint not null)`.execute(db);

  // Row-level for state changes (a WHEN clause keeps progress writes, several a second per
  // running job, from calling it at all); statement-level for inserts and deletes, so a bulk
  // insert or a retention batch of 200 rows appends one row per state, not one per job.
  await sql`
    create function jobs_count_state_change() returns trigger language plpgsql as $$
    begin
      insert into job_state_counts (state, n) values (old.state, -1), (new.state, 1);
      return null;
    end $$
  `.execute(db);
  await sql`
    create function jobs_count_inserted() returns trigger language plpgsql as $$
    begin
      insert into job_state_counts (state, n) select state, count(*) from inserted_jobs group by state;
      return null;
    end $$
  `.execute(db);
  await sql`
    create function jobs_count_deleted() returns trigger language plpgsql as $$
    begin
      insert into job_state_counts (state, n) select state, -count(*) from deleted_jobs group by state;
      return null;
    end $$
  `.execute(db);
  await sql`
    create function jobs_count_truncated() returns trigger language plpgsql as $$
    begin
      delete from job_state_counts;
      return null;
    end $$
  `.execute(db);
  // CREATE TRIGGER locks jobs against writes until this migration commits, so the seed below
  // (a snapshot taken after the lock) misses no change and counts none twice.
  await sql`
    create trigger jobs_count_state_change after update of state on jobs
    for each row when (old.state is distinct from new.state)
    execute function jobs_count_state_change()
  `.execute(db);
  await sql`
    create trigger jobs_count_inserted after insert on jobs
    referencing new table as inserted_jobs
    for each statement execute function jobs_count_inserted()
  `.execute(db);
  await sql`
    create trigger jobs_count_deleted after delete on jobs
    referencing old table as deleted_jobs
    for each statement execute function jobs_count_deleted()
  `.execute(db);
  await sql`
    create trigger jobs_count_truncated after truncate on jobs
    for each statement execute function jobs_count_truncated()
  `.execute(db);
  await sql`insert into job_state_counts (state, n) select state, count(*) from jobs group by state`.execute(
    db,
  );

  // The last hour's figures, whatever the job's bytes (0008's index covers only jobs whose
  // bytes are gone, 0001's only those whose bytes are kept).
  await sql`create index if not exists jobs_finished_at_all_idx on jobs (finished_at) where finished_at is not null`.execute(
    db,
  );

  await sql`
    create or replace view tally_admin.queue_health as
    with live as (
      select count(*) filter (where state = 'queued') as queued,
             count(*) filter (where state = 'running') as running,
             now() - min(created_at) filter (where state = 'queued') as oldest_queued_age
        from public.jobs
       where state in ('queued', 'running')
    ),
    totals as (
      select coalesce(sum(n) filter (where state = 'completed'), 0)::bigint as completed,
             coalesce(sum(n) filter (where state = 'failed'), 0)::bigint as failed,
             coalesce(sum(n) filter (where state = 'cancelled'), 0)::bigint as cancelled
        from public.job_state_counts
    ),
    last_hour as (
      select
        percentile_cont(0.5) within group (order by extract(epoch from finished_at - started_at))
          filter (where state = 'completed') as run_seconds_p50_1h,
        percentile_cont(0.95) within group (order by extract(epoch from finished_at - started_at))
          filter (where state = 'completed') as run_seconds_p95_1h,
        count(*) filter (where state = 'completed') as completed_1h,
        count(*) filter (where state = 'failed') as failures_1h
        from public.jobs
       where finished_at > now() - interval '1 hour'
    )
    select live.queued, live.running, totals.completed, totals.failed, totals.cancelled,
           live.oldest_queued_age, last_hour.run_seconds_p50_1h, last_hour.run_seconds_p95_1h,
           last_hour.completed_1h, last_hour.failures_1h
      from live, totals, last_hour
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace view tally_admin.queue_health as
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
  await sql`drop index if exists jobs_finished_at_all_idx`.execute(db);
  await sql`drop trigger jobs_count_truncated on jobs`.execute(db);
  await sql`drop trigger jobs_count_deleted on jobs`.execute(db);
  await sql`drop trigger jobs_count_inserted on jobs`.execute(db);
  await sql`drop trigger jobs_count_state_change on jobs`.execute(db);
  await sql`drop function jobs_count_truncated`.execute(db);
  await sql`drop function jobs_count_deleted`.execute(db);
  await sql`drop function jobs_count_inserted`.execute(db);
  await sql`drop function jobs_count_state_change`.execute(db);
  await sql`drop table job_state_counts`.execute(db);
}
