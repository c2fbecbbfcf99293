import { sql, type Kysely } from 'kysely';

// Frozen in time: written against Kysely<any>, never importing application code.
//
// One big plain file analysed by every worker at once: the attempt that took the job
// splits it into parts, queues one pg-boss job per part (any worker, any host), and merges
// what the parts leave here. Rows are keyed by the attempt's token: a part's figures count
// only while that attempt is the job's current, running one (the fence), and the attempt
// deletes its rows when it ends, whatever the outcome. `figures` is null until the part
// finished; a part retried after a crash starts over and replaces its row's figures and runs.
// Runs are a part's per-key tables as spilled runs (analysis/spill/): bytes and partition
// bounds, merged partition by partition when the result is built.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table analysis_parts (
      job_id uuid not null references jobs (id) on delete cascade,
      attempt_token uuid not null,
      part integer not null,
      bytes_processed bigint not null default 0,
      rows_processed bigint not null default 0,
      figures jsonb,
      error jsonb,
      finished_at timestamptz,
      updated_at timestamptz not null default now(),
      primary key (job_id, attempt_token, part)
    )
  `.execute(db);
  await sql`
    create table analysis_part_runs (
      job_id uuid not null,
      attempt_token uuid not null,
      part integer not null,
      seq integer not null,
      currency text,
      table_name text not null,
      bounds bytea not null,
      data bytea not null,
      primary key (job_id, attempt_token, part, seq),
      foreign key (job_id, attempt_token, part)
        references analysis_parts (job_id, attempt_token, part) on delete cascade
    )
  `.execute(db);
  // Runs are written once and read once, already compact: no compression attempt.
  await sql`alter table analysis_part_runs alter column data set storage external`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table analysis_part_runs`.execute(db);
  await sql`drop table analysis_parts`.execute(db);
}
