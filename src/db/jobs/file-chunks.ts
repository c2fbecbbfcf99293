import { createReadStream } from 'node:fs';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '../schema.ts';

/**
 * Uploaded bytes live in PostgreSQL, in 1 MiB rows: a worker on any host reads them with
 * only DATABASE_URL, and they are written in the same transaction as the job row, so a
 * job never exists without its file.
 */
export const FILE_CHUNK_BYTES = 1024 * 1024;

export async function storeFileChunks(
  trx: Kysely<Database>,
  jobId: string,
  filePath: string,
): Promise<number> {
  let seq = 0;
  // Buffers go to PostgreSQL as binary bind parameters: no hex encoding on the way in.
  for await (const chunk of createReadStream(filePath, {
    highWaterMark: FILE_CHUNK_BYTES,
  }) as AsyncIterable<Buffer>) {
    await sql`insert into job_file_chunks (job_id, seq, data) values (${jobId}, ${seq}, ${chunk})`.execute(
      trx,
    );
    seq += 1;
  }
  return seq;
}

/**
 * Streams a job's stored bytes in order, one chunk ahead.
 *
 * Results come back in bytea's hex text form. pg's `binary: true` would halve the bytes on
 * the wire, but pg 8 decodes every field as UTF-8 before handing binary values over, which
 * corrupts any non-UTF-8 byte (every gzip upload): measured, not assumed.
 */
export async function* readFileChunks(pool: pg.Pool, jobId: string): AsyncGenerator<Buffer> {
  const fetchChunk = async (seq: number): Promise<Buffer | undefined> => {
    const res = await pool.query<{ data: Buffer }>(
      'select data from job_file_chunks where job_id = $1 and seq = $2',
      [jobId, seq],
    );
    return res.rows[0]?.data;
  };
  let seq = 0;
  let next = fetchChunk(seq);
  for (;;) {
    const chunk = await next;
    if (chunk === undefined) return;
    seq += 1;
    next = fetchChunk(seq);
    // A consumer that stops early must not leave the prefetch's rejection unhandled.
    next.catch(() => undefined);
    yield chunk;
  }
}

/** Counts a job's stored chunks; 0 means the bytes are gone (retention) or never existed. */
export async function countFileChunks(db: Kysely<Database>, jobId: string): Promise<number> {
  const row = await db
    .selectFrom('job_file_chunks')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('job_id', '=', jobId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
