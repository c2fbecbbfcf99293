import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** One part of one attempt's split (migration 0011). */
export interface PartKey {
  jobId: string;
  /** The coordinating attempt's token: the fence every write of the part names. */
  token: string;
  part: number;
}

/** A part's per-key table as a spilled run, as stored. */
export interface StoredRun {
  currency: string | null;
  table: string;
  bounds: Buffer;
  data: Buffer;
}

export interface PartStatus {
  part: number;
  bytes: number;
  rows: number;
  done: boolean;
  error: { code: string; message: string; details?: unknown } | null;
}

/** The attempt is the job's current, running one: the condition on every part write. */
const fence = (k: { jobId: string; token: string }) =>
  sql`exists (select 1 from jobs j where j.id = ${k.jobId} and j.attempt_token = ${k.token} and j.state = 'running')`;

/** The attempt's parts, fresh; rows an earlier attempt left behind go (and their runs). */
export async function createParts(
  db: Kysely<Database>,
  jobId: string,
  token: string,
  count: number,
): Promise<void> {
  await sql`delete from analysis_parts where job_id = ${jobId}`.execute(db);
  if (count > 0) await addParts(db, jobId, token, 0, count);
}

/** Rows for parts [from, from + count) of the attempt. */
export async function addParts(
  db: Kysely<Database>,
  jobId: string,
  token: string,
  from: number,
  count = 1,
): Promise<void> {
  await sql`
    insert into analysis_parts (job_id, attempt_token, part)
    select ${jobId}, ${token}, n from generate_series(${from}::int, ${from + count - 1}::int) n
  `.execute(db);
}

/**
 * A part's (re)start: progress, figures and runs cleared (a retry after a crash starts the
 * part over). False when the attempt no longer owns the job: nothing to do.
 */
export async function startPart(db: Kysely<Database>, k: PartKey): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const res = await sql`
      update analysis_parts set bytes_processed = 0, rows_processed = 0, figures = null, error = null,
             finished_at = null, updated_at = now()
       where job_id = ${k.jobId} and attempt_token = ${k.token} and part = ${k.part} and ${fence(k)}
    `.execute(trx);
    if (res.numAffectedRows !== 1n) return false;
    await sql`delete from analysis_part_runs where job_id = ${k.jobId} and attempt_token = ${k.token} and part = ${k.part}`.execute(
      trx,
    );
    return true;
  });
}

/** Progress of a part; false when the attempt no longer owns the job (the part stops). */
export async function recordPartProgress(
  db: Kysely<Database>,
  k: PartKey,
  progress: { bytesProcessed: number; rowsProcessed: number },
): Promise<boolean> {
  const res = await sql`
    update analysis_parts set bytes_processed = ${progress.bytesProcessed}, rows_processed = ${progress.rowsProcessed},
           updated_at = now()
     where job_id = ${k.jobId} and attempt_token = ${k.token} and part = ${k.part} and finished_at is null and ${fence(k)}
  `.execute(db);
  return res.numAffectedRows === 1n;
}

/** A part's figures and runs, in one transaction and only under the fence. False: fenced off. */
export async function finishPart(
  db: Kysely<Database>,
  k: PartKey,
  done: { figures: unknown; bytes: number; rows: number; runs: readonly StoredRun[] },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const res = await sql`
      update analysis_parts set figures = ${JSON.stringify(done.figures)}::jsonb, finished_at = now(),
             bytes_processed = ${done.bytes}, rows_processed = ${done.rows}, updated_at = now()
       where job_id = ${k.jobId} and attempt_token = ${k.token} and part = ${k.part} and finished_at is null and ${fence(k)}
    `.execute(trx);
    if (res.numAffectedRows !== 1n) return false;
    for (const [seq, run] of done.runs.entries()) {
      await sql`
        insert into analysis_part_runs (job_id, attempt_token, part, seq, currency, table_name, bounds, data)
        values (${k.jobId}, ${k.token}, ${k.part}, ${seq}, ${run.currency}, ${run.table}, ${run.bounds}, ${run.data})
      `.execute(trx);
    }
    return true;
  });
}

/** A part that cannot finish (its input's fault, or retries spent): the attempt reports it. */
export async function failPart(db: Kysely<Database>, k: PartKey, error: PartStatus['error']): Promise<void> {
  await sql`
    update analysis_parts set error = ${JSON.stringify(error)}::jsonb, updated_at = now()
     where job_id = ${k.jobId} and attempt_token = ${k.token} and part = ${k.part} and ${fence(k)}
  `.execute(db);
}

export async function partStatuses(
  db: Kysely<Database>,
  jobId: string,
  token: string,
): Promise<PartStatus[]> {
  const { rows } = await sql<{
    part: number;
    bytes: string;
    rows: string;
    done: boolean;
    error: PartStatus['error'];
  }>`
    select part, bytes_processed as bytes, rows_processed as rows, finished_at is not null as done, error
      from analysis_parts where job_id = ${jobId} and attempt_token = ${token} order by part
  `.execute(db);
  return rows.map((r) => ({
    part: r.part,
    bytes: Number(r.bytes),
    rows: Number(r.rows),
    done: r.done,
    error: r.error,
  }));
}

export async function partFiguresOf(db: Kysely<Database>, jobId: string, token: string): Promise<unknown[]> {
  const { rows } = await sql<{ figures: unknown }>`
    select figures from analysis_parts where job_id = ${jobId} and attempt_token = ${token} order by part
  `.execute(db);
  return rows.map((r) => r.figures);
}

/** A finished part's runs, and when it finished (a part started over finishes again, later). */
export interface FinishedRuns {
  finishedAt: string;
  runs: StoredRun[];
}

/**
 * A finished part's runs with its finish time, read in one statement (one snapshot), so
 * they are the runs of that finish; null while the part is not finished.
 */
export async function finishedRunsOf(db: Kysely<Database>, k: PartKey): Promise<FinishedRuns | null> {
  const { rows } = await sql<{
    finished_at: string;
    currency: string | null;
    table_name: string | null;
    bounds: Buffer | null;
    data: Buffer | null;
  }>`
    select p.finished_at::text as finished_at, r.currency, r.table_name, r.bounds, r.data
      from analysis_parts p
      left join analysis_part_runs r
        on r.job_id = p.job_id and r.attempt_token = p.attempt_token and r.part = p.part
     where p.job_id = ${k.jobId} and p.attempt_token = ${k.token} and p.part = ${k.part}
       and p.finished_at is not null
     order by r.seq
  `.execute(db);
  if (rows.length === 0) return null;
  const runs = rows
    .filter((r) => r.table_name !== null)
    .map((r) => ({ currency: r.currency, table: r.table_name!, bounds: r.bounds!, data: r.data! }));
  return { finishedAt: rows[0]!.finished_at, runs };
}

/** Every part's number, figures and finish time (null figures: not finished), in part order. */
export async function finishedFiguresOf(
  db: Kysely<Database>,
  jobId: string,
  token: string,
): Promise<{ part: number; figures: unknown; finishedAt: string | null }[]> {
  const { rows } = await sql<{ part: number; figures: unknown; finished_at: string | null }>`
    select part, figures, finished_at::text as finished_at from analysis_parts
     where job_id = ${jobId} and attempt_token = ${token} order by part
  `.execute(db);
  return rows.map((r) => ({ part: r.part, figures: r.figures, finishedAt: r.finished_at }));
}

/** One part's runs, in the order it wrote them. */
export async function partRunsOf(db: Kysely<Database>, k: PartKey): Promise<StoredRun[]> {
  const { rows } = await sql<{ currency: string | null; table_name: string; bounds: Buffer; data: Buffer }>`
    select currency, table_name, bounds, data from analysis_part_runs
     where job_id = ${k.jobId} and attempt_token = ${k.token} and part = ${k.part} order by seq
  `.execute(db);
  return rows.map((r) => ({ currency: r.currency, table: r.table_name, bounds: r.bounds, data: r.data }));
}

/** The attempt's split is over (merged, failed, cancelled, fenced off): its rows go. */
export async function deleteParts(db: Kysely<Database>, jobId: string, token: string): Promise<void> {
  await sql`delete from analysis_parts where job_id = ${jobId} and attempt_token = ${token}`.execute(db);
}
