import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

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

/**
 * Inserts the job row together with its file, in one statement:
 * - staged: the staged_uploads row is deleted in the same statement (the adoption), and
 *   no job is inserted when it is gone (the sweep took it): returns false;
 * - in hand: the file's one chunk is inserted beside the row.
 * One statement instead of two or three: each is a round trip and a wake-up of a backend
 * on the same two cores, and small jobs pay them per job (bench/small-jobs.bench.ts).
 */
export async function insertJob(trx: Kysely<Database>, job: NewJob, file: JobFile): Promise<boolean> {
  const values = sql`${job.id}::uuid, ${job.owner}, 'queued', ${job.filename}, ${job.bytes}, ${job.sha256},
    ${job.compression}, ${JSON.stringify(job.options)}::jsonb, ${job.delimiter}`;
  const columns = sql`(id, owner, state, filename, bytes, sha256, compression, options, delimiter)`;
  if (file.staged) {
    const res = await sql`
      with adopted as (delete from staged_uploads where id = ${job.id} returning id)
      insert into jobs ${columns} select ${values} from adopted
    `.execute(trx);
    return res.numAffectedRows === 1n;
  }
  await sql`
    with job as (insert into jobs ${columns} values (${values}) returning id)
    insert into job_file_chunks (job_id, seq, data) select id, 0, ${file.data} from job
  `.execute(trx);
  return true;
}
