import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Inserts job `jobId` as a re-run of `rerunOf`: it copies what describes the file (name,
 * size, SHA-256, CRC-32, compression, and the delimiter sniffed at upload unless the options
 * name one); state, attempts, timings and result start anew. A job stored before migration
 * 0018 has no CRC-32, nor then do its re-runs. Run after findRerunSource locked the old row.
 */
export async function insertRerunJob(
  trx: Kysely<Database>,
  job: { jobId: string; rerunOf: string; options: { delimiter?: string | undefined } },
): Promise<void> {
  await sql`
    insert into jobs (id, owner, state, filename, bytes, sha256, crc32, compression, options, delimiter, rerun_of)
    select ${job.jobId}, owner, 'queued', filename, bytes, sha256, crc32, compression,
           ${JSON.stringify(job.options)}::jsonb, coalesce(${job.options.delimiter ?? null}, delimiter), id
      from jobs where id = ${job.rerunOf}
  `.execute(trx);
}
