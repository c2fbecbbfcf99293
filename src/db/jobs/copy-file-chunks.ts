import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Copies a job's stored chunks to another job id inside PostgreSQL (INSERT … SELECT), for a
 * re-run: the bytes never travel to Node and back, and the copy gets its own retention
 * clock (the sweep deletes the old job's bytes on the old job's schedule). Returns how many
 * chunks were copied (0: there were none).
 *
 * Requests run under a short statement_timeout (a locked table must not hold them forever),
 * but this copy takes time in proportion to the file: 256 MiB took 6.4 s on this 2-core
 * machine under load (~40 MiB/s). Its own bound, inside the caller's transaction: 30 s +
 * 10 MiB/s, 4× headroom; the previous bound is restored after.
 */
export async function copyFileChunks(
  trx: Kysely<Database>,
  from: { jobId: string; bytes: number },
  toJobId: string,
): Promise<number> {
  const { rows } = await sql<{ previous: string }>`
    select current_setting('statement_timeout') as previous`.execute(trx);
  const setTimeoutLocal = (value: string) =>
    sql`select set_config('statement_timeout', ${value}, true)`.execute(trx);
  await setTimeoutLocal(String(copyTimeoutMs(from.bytes)));
  const copied = await sql`
    insert into job_file_chunks (job_id, seq, data)
    select ${toJobId}, seq, data from job_file_chunks where job_id = ${from.jobId}
  `.execute(trx);
  await setTimeoutLocal(rows[0]?.previous ?? '0');
  return Number(copied.numAffectedRows ?? 0);
}

export function copyTimeoutMs(bytes: number): number {
  return 30_000 + Math.ceil(bytes / (10 * 1024 * 1024)) * 1000;
}
