import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import { jobsInFlight } from '../../queue/fair-share.ts';

export interface NewJob {
  id: string;
  owner: string;
  filename: string;
  bytes: number;
  sha256: string;
  /** Unsigned CRC-32 of the stored bytes (FileDigest), stored as bigint. */
  crc32: number;
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
 * The job row together with its file, as common table expressions ending with `job` (the
 * new row's id; see StoredFiles.adoption):
 * - staged: the staged_uploads row is deleted in the same statement (the adoption), and
 *   no job is inserted when it is gone (the sweep took it);
 * - in hand: the file's one chunk is inserted beside the row.
 * `fileStore` is the jobs.file_store of a store other than PostgreSQL (its bytes elsewhere).
 */
export function jobAdoption(job: NewJob, file: JobFile, fileStore?: 's3'): RawBuilder<unknown> {
  const store = fileStore === undefined ? sql`` : sql`, file_store`;
  const storeValue = fileStore === undefined ? sql`` : sql`, ${fileStore}`;
  const columns = sql`(id, owner, state, filename, bytes, sha256, crc32, compression, options, delimiter${store})`;
  const values = sql`${job.id}::uuid, ${job.owner}, 'queued', ${job.filename}, ${job.bytes}, ${job.sha256},
    ${job.crc32}, ${job.compression}, ${JSON.stringify(job.options)}::jsonb, ${job.delimiter}${storeValue}`;
  return file.staged
    ? sql`adopted as (delete from staged_uploads where id = ${job.id} returning id),
          job as (insert into jobs ${columns} select ${values} from adopted returning id)`
    : sql`job as (insert into jobs ${columns} values (${values}) returning id),
          chunk as (insert into job_file_chunks (job_id, seq, data) select id, 0, ${file.data} from job)`;
}

/**
 * An adoption (above) as a statement of its own, in a transaction that adds others (a
 * resumable upload's completion, an Idempotency-Key's claim). The same statement counts the
 * owner's other jobs in flight, for the queue entry's turn. Undefined: no job was inserted.
 */
export async function insertAdopting(
  trx: Kysely<Database>,
  owner: string,
  adoption: RawBuilder<unknown>,
): Promise<InsertedJob | undefined> {
  const { rows } = await sql<{ inserted: number; others: number }>`
    with ${adoption}
    select (select count(*)::int from job) as inserted, ${jobsInFlight(owner)} as others
  `.execute(trx);
  const row = rows[0];
  return row?.inserted === 1 ? { othersInFlight: row.others } : undefined;
}
