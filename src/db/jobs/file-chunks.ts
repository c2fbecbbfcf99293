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
  /** The whole file when the caller already holds it (a small upload's head): no re-read. */
  whole?: Buffer,
): Promise<number> {
  // Most uploads in a burst of small jobs are smaller than the head the spooler keeps in
  // memory: reading them back cost an open, two reads and a close per upload, ~15 % of the
  // API's CPU in bench/small-jobs.bench.ts.
  if (whole !== undefined && whole.length > 0 && whole.length <= FILE_CHUNK_BYTES) {
    await sql`insert into job_file_chunks (job_id, seq, data) values (${jobId}, 0, ${whole})`.execute(trx);
    return 1;
  }
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
  // Each row says whether another follows, so the last chunk is not followed by a query
  // that finds nothing: for a one-chunk job that is one statement of the ~6 a job costs
  // (claim, read, finish, pg-boss fetch and complete), each a write and a wake-up of a
  // PostgreSQL backend on the same two cores (bench/small-jobs.bench.ts).
  type Row = { data: Buffer; more: boolean };
  const fetchChunk = async (seq: number): Promise<Row | undefined> => {
    const res = await pool.query<Row>(
      `select data, exists (select 1 from job_file_chunks where job_id = $1 and seq = $2 + 1) as more
         from job_file_chunks where job_id = $1 and seq = $2`,
      [jobId, seq],
    );
    return res.rows[0];
  };
  let seq = 0;
  let next: Promise<Row | undefined> | undefined = fetchChunk(seq);
  while (next) {
    const chunk: Row | undefined = await next;
    if (chunk === undefined) return;
    seq += 1;
    next = chunk.more ? fetchChunk(seq) : undefined;
    // A consumer that stops early must not leave the prefetch's rejection unhandled.
    next?.catch(() => undefined);
    yield chunk.data;
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
