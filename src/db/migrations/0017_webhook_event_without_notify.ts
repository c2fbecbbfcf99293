import { sql, type Kysely, type RawBuilder } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// The webhook-event trigger of 0009 also sent pg_notify('tally_webhook_event', …), which
// nothing ever listened to: the relay finds recorded events by a pass a second
// (src/webhooks/start-webhooks.ts). A NOTIFY makes its transaction queue a notification at
// commit, under the server's one notification lock, for no reader, so it goes. The function
// is replaced in place: the trigger that calls it stays as it is.

/** 0009's function, as it was (with `notify`) or without it. */
const recordEvent = (notify: RawBuilder<unknown>) => sql`
    create or replace function jobs_record_webhook_event() returns trigger language plpgsql as $$
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
      ${notify}
      return null;
    end $$
`;

export async function up(db: Kysely<any>): Promise<void> {
  await recordEvent(sql.raw('')).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await recordEvent(sql.raw("perform pg_notify('tally_webhook_event', new.id::text);")).execute(db);
}
