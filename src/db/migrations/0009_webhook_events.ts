import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// CONTRACT §9 (v1.2): a webhook event is recorded in the same transaction as the job's
// final state. A trigger does it, so every path to a final state records its event —
// the worker's completion and failure, a cancel, RETRIES_EXHAUSTED from the worker or the
// abandoned-job sweep, an admin's retry that ends again — and none can forget to, whatever
// code later changes those paths. `data` is the event's body as the receiver gets it,
// frozen at the state change, so every retry sends the same bytes (with the same id).
// Deliveries are relayed from here into a pg-boss queue (src/webhooks/relay.ts); the
// columns after `data` record how delivery went, for tally_admin.webhook_deliveries.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table webhook_events (
      id uuid primary key default gen_random_uuid(),
      job_id uuid not null references jobs (id) on delete cascade,
      type text not null,
      occurred_at timestamptz not null default now(),
      data jsonb not null,
      queued_at timestamptz,
      attempts integer not null default 0,
      last_attempt_at timestamptz,
      last_status integer,
      last_error text,
      delivered_at timestamptz,
      gave_up_at timestamptz
    )
  `.execute(db);
  // The relay's scan: only events not yet handed to the queue (almost none, almost always).
  await sql`create index webhook_events_unqueued_idx on webhook_events (occurred_at) where queued_at is null`.execute(
    db,
  );
  await sql`create index webhook_events_job_idx on webhook_events (job_id)`.execute(db);

  await sql`
    create function jobs_record_webhook_event() returns trigger language plpgsql as $$
    begin
      insert into webhook_events (job_id, type, data)
      values (
        new.id,
        'job.' || new.state,
        jsonb_build_object(
          'jobId', new.id,
          'owner', new.owner,
          'state', new.state,
          'filename', new.filename,
          'error', case when new.error_code is null then null
                        else jsonb_build_object('code', new.error_code,
                                                'message', coalesce(new.error_message, new.error_code)) end
        ) || case when new.state = 'completed' then jsonb_build_object('revenue', (
               select coalesce(jsonb_agg(jsonb_build_object('currency', c -> 'currency',
                                                            'revenue', c -> 'totals' -> 'revenue')), '[]'::jsonb)
                 from jsonb_array_elements(coalesce(new.result -> 'currencies', '[]'::jsonb)) c))
             else '{}'::jsonb end
      );
      perform pg_notify('tally_webhook_event', new.id::text);
      return null;
    end $$
  `.execute(db);
  await sql`
    create trigger jobs_record_webhook_event after update on jobs
    for each row
    when (new.state in ('completed', 'failed', 'cancelled') and old.state is distinct from new.state)
    execute function jobs_record_webhook_event()
  `.execute(db);

  // For people with psql: how deliveries went, without the body (it names files and
  // quotes their cells in error messages) and without any secret (none is stored).
  await sql`
    create view tally_admin.webhook_deliveries as
    select
      e.id as webhook_id,
      e.job_id,
      e.type,
      case when e.delivered_at is not null then 'delivered'
           when e.gave_up_at is not null then 'gave up'
           when e.queued_at is null then 'recorded'
           when e.attempts = 0 then 'queued'
           else 'retrying' end as state,
      e.attempts,
      e.occurred_at,
      e.queued_at,
      e.last_attempt_at,
      e.last_status,
      e.last_error,
      e.delivered_at,
      e.delivered_at - e.occurred_at as delivery_delay,
      e.gave_up_at
    from public.webhook_events e
  `.execute(db);
  await sql`
    do $$
    begin
      if exists (select 1 from pg_roles where rolname = 'tally_readonly') then
        grant select on tally_admin.webhook_deliveries to tally_readonly;
      end if;
    end $$
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop view tally_admin.webhook_deliveries`.execute(db);
  await sql`drop trigger jobs_record_webhook_event on jobs`.execute(db);
  await sql`drop function jobs_record_webhook_event`.execute(db);
  await sql`drop table webhook_events`.execute(db);
}
