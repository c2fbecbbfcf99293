import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { validate as isUuid } from 'uuid';

/**
 * Uploaded bytes live in PostgreSQL, in rows of 1 MiB (the last of a file, or of each
 * request of a resumable upload, shorter): a worker on any host reads them with only
 * DATABASE_URL. They are staged as they arrive and adopted by the job in the upload
 * transaction (db/jobs/staged-uploads.ts), so a job never exists without its file.
 */
export const FILE_CHUNK_BYTES = 1024 * 1024;

/** Refuses anything but a UUID: COPY takes no bind parameters, the id is written into it. */
export function assertJobId(jobId: string): void {
  if (!isUuid(jobId)) throw new Error(`not a job id: ${jobId}`);
}

/**
 * Streams a job's stored bytes in order, one chunk ahead.
 *
 * Each chunk comes back through `COPY … TO STDOUT (FORMAT binary)`: the bytea as raw bytes.
 * A plain query returns bytea as hex text, which doubles the bytes on the wire and costs a
 * UTF-8 decode and a hex decode per chunk; pg's `binary: true` does not help, as pg 8
 * decodes every field as text (it would corrupt any non-UTF-8 byte, e.g. every gzip
 * upload). Measured in bench/worker-path.bench.ts (P2w).
 *
 * One COPY per chunk, not one for the file, so a job holds a pool connection only while a
 * chunk is in flight, as the hex path did, whatever the time the analysis takes.
 */
export async function* readFileChunks(pool: pg.Pool, jobId: string): AsyncGenerator<Buffer> {
  // Each row says whether another follows, so the last chunk is not followed by a query
  // that finds nothing: for a one-chunk job that is one statement of the ~6 a job costs
  // (claim, read, finish, pg-boss fetch and complete), each a write and a wake-up of a
  // PostgreSQL backend on the same two cores (bench/small-jobs.bench.ts).
  let seq = 0;
  let next: Promise<StoredChunk | undefined> | undefined = copyChunk(pool, jobId, seq);
  while (next) {
    const chunk: StoredChunk | undefined = await next;
    if (chunk === undefined) return;
    seq += 1;
    next = chunk.more ? copyChunk(pool, jobId, seq) : undefined;
    // A consumer that stops early must not leave the prefetch's rejection unhandled.
    next?.catch(() => undefined);
    yield* chunk.data;
  }
}

export interface StoredChunk {
  /** The chunk's bytes, as the pieces COPY delivered them (not copied into one buffer). */
  data: Buffer[];
  more: boolean;
}

export async function copyChunk(pool: pg.Pool, jobId: string, seq: number): Promise<StoredChunk | undefined> {
  assertJobId(jobId);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const stream = client.query(
      copyTo(`copy (
        select data, exists (select 1 from job_file_chunks where job_id = '${jobId}' and seq = ${seq + 1})
          from job_file_chunks where job_id = '${jobId}' and seq = ${seq}
      ) to stdout (format binary)`),
    );
    const parts: Buffer[] = [];
    for await (const part of stream as AsyncIterable<Buffer>) parts.push(part);
    return parseChunkRow(new PartReader(parts));
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    client.release(broken); // a COPY cut mid-way leaves the connection unusable: drop it
  }
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Reads the one (data bytea, more boolean) row of a binary COPY: an 11-byte signature,
 * flags and header-extension length, then per row a field count and length-prefixed
 * fields, then -1. https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
 */
function parseChunkRow(input: PartReader): StoredChunk | undefined {
  const header = input.take(15);
  if (header.length < 15 || !header.subarray(0, 11).equals(SIGNATURE)) {
    throw new Error('unexpected COPY output: no binary signature');
  }
  input.skip(input.take(4).readInt32BE(0)); // header extension
  const fields = input.take(2).readInt16BE(0);
  if (fields === -1) return undefined; // no row: the chunk does not exist
  if (fields !== 2) throw new Error(`unexpected COPY output: ${fields} fields`);
  const data = input.pieces(input.take(4).readInt32BE(0));
  const more = input.take(5);
  if (more.readInt32BE(0) !== 1) throw new Error('unexpected COPY output: boolean field');
  return { data, more: more[4] === 1 };
}

/**
 * The COPY output as the parts it arrived in, read front to back without joining them:
 * a 1 MiB chunk arrives in ~16 parts, and `Buffer.concat` of them was ~2.5 % of the
 * worker's CPU on the 1M-row file (bench P2w profile: 85 ms per 78 MB read).
 */
class PartReader {
  #part = 0;
  #at = 0;

  constructor(private readonly parts: Buffer[]) {}

  /** The next `n` bytes as pieces of the parts (no copy). */
  pieces(n: number): Buffer[] {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const part = this.parts[this.#part];
      if (part === undefined) throw new Error('unexpected COPY output: cut short');
      const end = Math.min(part.length, this.#at + left);
      if (end > this.#at) out.push(part.subarray(this.#at, end));
      left -= end - this.#at;
      this.#at = end;
      if (this.#at === part.length) {
        this.#part++;
        this.#at = 0;
      }
    }
    return out;
  }

  /** The next `n` bytes as one buffer (a copy only when they straddle two parts). */
  take(n: number): Buffer {
    const pieces = this.pieces(n);
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  skip(n: number): void {
    this.pieces(n);
  }
}
