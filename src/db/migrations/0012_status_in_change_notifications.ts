import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// A change's NOTIFY carries the job's status row: `<id>:<version>:<json>`, the json holding
// the owner and the columns a status is built from (timestamps as epoch milliseconds). An API
// process whose status cache holds the job takes the row from the notification instead of
// dropping its entry and reading the row again: a client that watches a job to its end costs
// one SELECT instead of one per change (bench T: 2.9 status SELECTs per job before). A row too
// long for a notification (PostgreSQL refuses payloads of 8000 bytes or more; long error
// details can get there) keeps the old `<id>:<version>`, and the cache drops its entry and
// reads, as before. Listeners that read only the id before the first ':' see no change.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function jobs_notify_change() returns trigger language plpgsql as $$
    declare
      head text := new.id::text || ':' || new.version::text;
      status text := json_build_object(
        'owner', new.owner, 'id', new.id, 'state', new.state, 'version', new.version,
        'filename', new.filename, 'bytes', new.bytes, 'bytes_processed', new.bytes_processed,
        'rows_processed', new.rows_processed, 'attempts', new.attempts,
        'created_at', floor(extract(epoch from new.created_at) * 1000),
        'started_at', floor(extract(epoch from new.started_at) * 1000),
        'finished_at', floor(extract(epoch from new.finished_at) * 1000),
        'error_code', new.error_code, 'error_message', new.error_message,
        'error_details', new.error_details)::text;
    begin
      if octet_length(status) < 7900 then
        perform pg_notify('tally_job_changed', head || ':' || status);
      else
        perform pg_notify('tally_job_changed', head);
      end if;
      return null;
    end $$
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function jobs_notify_change() returns trigger language plpgsql as $$
    begin
      perform pg_notify('tally_job_changed', new.id::text || ':' || new.version::text);
      return null;
    end $$
  `.execute(db);
}
