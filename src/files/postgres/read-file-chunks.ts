import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/**
 * Uploaded bytes live in PostgreSQL, in rows of 1 MiB (the last of a file, or of each
 * request of a resumable upload, shorter): a worker on any host reads them with only
 * DATABASE_URL. They are staged as they arrive and adopted by the job in the upload
 * transaction (db/jobs/staged-uploads.ts), so a job never exists without its file.
 */
export const FILE_CHUNK_BYTES = 1024 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Stored chunks read by one COPY. One COPY per 1 MiB chunk cost the reader 1.3–2.0 s of CPU
 * per GiB on a 2-core EPYC VM, a query's write and its backend's wake-up for every MiB
 * (`npx tsx bench/split-scan-profile.ts 4 13500000`: `writeBuffer` under the COPY's query
 * alone was a fifth of it); eight chunks a COPY: 1.2–1.3 s, and reading alone in P2w went
 * from 422–446 to 480–604 MB/s (2026-12-06). A connection is held ~10 ms a run, and a
 * reader holds at most two runs (16 MiB) in hand.
 */
export const CHUNKS_PER_COPY = 8;

/**
 * Streams a job's stored bytes in order, one run of chunks ahead.
 *
 * Chunks come back through `COPY … TO STDOUT (FORMAT binary)`: the bytea as raw bytes.
 * A plain query returns bytea as hex text, which doubles the bytes on the wire and costs a
 * UTF-8 decode and a hex decode per chunk; pg's `binary: true` does not help, as pg 8
 * decodes every field as text (it would corrupt any non-UTF-8 byte, e.g. every gzip
 * upload). Measured in bench/worker-path.bench.ts (P2w).
 *
 * A COPY per run of CHUNKS_PER_COPY chunks, not one for the file, so a job holds a pool
 * connection only while a run is in flight, whatever the time the analysis takes.
 */
export async function* readFileChunks(pool: pg.Pool, jobId: string): AsyncGenerator<Buffer> {
  yield* readChunkRuns(pool, jobId, 0, Number.POSITIVE_INFINITY);
}

/**
 * Chunks `first` up to (not including) `end` in order, the next run's COPY sent while the
 * consumer reads this one's. Stops early at a missing chunk: the reader's length check
 * reports the file as corrupt.
 */
export async function* readChunkRuns(
  pool: pg.Pool,
  jobId: string,
  first: number,
  end: number,
): AsyncGenerator<Buffer> {
  // Each row says whether another follows, so the last run is not followed by a query that
  // finds nothing: for a one-chunk job that is one statement of the ~6 a job costs (claim,
  // read, finish, pg-boss fetch and complete), each a write and a wake-up of a PostgreSQL
  // backend on the same two cores (bench/small-jobs.bench.ts).
  if (!UUID.test(jobId)) throw new Error(`not a job id: ${jobId}`); // COPY takes no bind parameters
  const run = (seq: number) => copyChunks(pool, jobId, seq, Math.min(CHUNKS_PER_COPY, end - seq));
  let seq = first;
  let next: Promise<StoredRun> | undefined = first < end ? run(first) : undefined;
  while (next) {
    const current: StoredRun = await next;
    seq += current.chunks;
    next = current.more && current.chunks > 0 && seq < end ? run(seq) : undefined;
    // A consumer that stops early must not leave the prefetch's rejection unhandled.
    next?.catch(() => undefined);
    yield* current.data;
  }
}

export interface StoredRun {
  /** The chunks' bytes, as the pieces COPY delivered them (not copied into one buffer). */
  data: Buffer[];
  /** How many chunks, in order from the first asked for, the run holds. */
  chunks: number;
  /** The chunk after the run's last exists. */
  more: boolean;
}

/** Chunks `seq` … `seq + count - 1` of a job (fewer at the file's end or at a missing chunk). */
export async function copyChunks(
  pool: pg.Pool,
  jobId: string,
  seq: number,
  count: number,
): Promise<StoredRun> {
  if (!UUID.test(jobId)) throw new Error(`not a job id: ${jobId}`);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(count) || count < 1) {
    throw new Error(`not a run of chunks: ${seq}, ${count}`);
  }
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const stream = client.query(
      copyTo(`copy (
        select c.seq, c.data, exists (select 1 from job_file_chunks where job_id = c.job_id and seq = c.seq + 1)
          from job_file_chunks c where c.job_id = '${jobId}' and c.seq >= ${seq} and c.seq < ${seq + count}
         order by c.seq
      ) to stdout (format binary)`),
    );
    const parts: Buffer[] = [];
    for await (const part of stream as AsyncIterable<Buffer>) parts.push(part);
    return parseChunkRows(new PartReader(parts), seq);
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    client.release(broken); // a COPY cut mid-way leaves the connection unusable: drop it
  }
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Reads the (seq int4, data bytea, more boolean) rows of a binary COPY: an 11-byte
 * signature, flags and header-extension length, then per row a field count and
 * length-prefixed fields, then -1. Rows after a gap in `seq` are dropped (the run ends
 * there, with no chunk after it).
 * https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
 */
function parseChunkRows(input: PartReader, first: number): StoredRun {
  const header = input.take(15);
  if (header.length < 15 || !header.subarray(0, 11).equals(SIGNATURE)) {
    throw new Error('unexpected COPY output: no binary signature');
  }
  input.skip(input.take(4).readInt32BE(0)); // header extension
  const run: StoredRun = { data: [], chunks: 0, more: false };
  for (;;) {
    const fields = input.take(2).readInt16BE(0);
    if (fields === -1) return run;
    if (fields !== 3) throw new Error(`unexpected COPY output: ${fields} fields`);
    const seq = input.take(8);
    if (seq.readInt32BE(0) !== 4) throw new Error('unexpected COPY output: seq field');
    const data = input.pieces(input.take(4).readInt32BE(0));
    const more = input.take(5);
    if (more.readInt32BE(0) !== 1) throw new Error('unexpected COPY output: boolean field');
    if (seq.readInt32BE(4) !== first + run.chunks) return { ...run, more: false };
    run.data.push(...data);
    run.chunks += 1;
    run.more = more[4] === 1;
  }
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
