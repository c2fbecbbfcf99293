import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { jobsInFlight } from '../../queue/fair-share.ts';

export interface NewJob {
  id: string;
  owner: string;
  filename: string;
  bytes: number;
  sha256: string;
  compression: 'none' | 'gzip';
  options: unknown;
  delimiter: string;
}

/** Where the new job's bytes are: already staged under its id, or in hand (a small file). */
export type JobFile = { staged: true } | { staged: false; data: Buffer };

/** A job inserted with its file: how many other jobs its owner has in flight (queue/fair-share.ts). */
export interface InsertedJob {
  othersInFlight: number;
}

/**
 * Inserts the job row together with its file, in one statement:
 * - staged: the staged_uploads row is deleted in the same statement (the adoption), and
 *   no job is inserted when it is gone (the sweep took it): returns undefined;
 * - in hand: the file's one chunk is inserted beside the row.
 * The same statement counts the owner's other jobs in flight, for the queue entry's turn.
 * One statement instead of three or four: each is a round trip and a wake-up of a backend
 * on the same two cores, and small jobs pay them per job (bench/small-jobs.bench.ts).
 */
export async function insertJob(
  trx: Kysely<Database>,
  job: NewJob,
  file: JobFile,
): Promise<InsertedJob | undefined> {
  const values = sql`${job.id}::uuid, ${job.owner}, 'queued', ${job.filename}, ${job.bytes}, ${job.sha256},
    ${job.compression}, ${JSON.stringify(job.options)}::jsonb, ${job.delimiter}`;
  const columns = sql`(id, owner, state, filename, bytes, sha256, compression, options, delimiter)`;
  const inserted = file.staged
    ? sql<{ inserted: number; others: number }>`
        with adopted as (delete from staged_uploads where id = ${job.id} returning id),
             job as (insert into jobs ${columns} select ${values} from adopted returning id)
        select (select count(*)::int from job) as inserted, ${jobsInFlight(job.owner)} as others
      `
    : sql<{ inserted: number; others: number }>`
        with job as (insert into jobs ${columns} values (${values}) returning id),
             chunk as (insert into job_file_chunks (job_id, seq, data) select id, 0, ${file.data} from job)
        select 1 as inserted, ${jobsInFlight(job.owner)} as others
      `;
  const row = (await inserted.execute(trx)).rows[0];
  return row?.inserted === 1 ? { othersInFlight: row.others } : undefined;
}
