import type pg from 'pg';
import { readChunkRuns } from './read-file-chunks.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Bytes [start, end) of a job's stored file. Chunks are 1 MiB except the last of each
 * request of a resumable upload, so the chunks holding `start` and `end` are found from the
 * chunks' lengths (`octet_length` of an uncompressed, externally stored bytea reads its
 * TOAST pointer, not its bytes), then read as `readFileChunks` reads them.
 */
export async function* readFileRange(
  pool: pg.Pool,
  jobId: string,
  start: number,
  end: number,
): AsyncGenerator<Buffer> {
  if (!UUID.test(jobId)) throw new Error(`not a job id: ${jobId}`);
  const { rows } = await pool.query<{ seq: number; bytes: number }>(
    'select seq, octet_length(data) as bytes from job_file_chunks where job_id = $1 order by seq',
    [jobId],
  );
  let offset = 0;
  let first: { seq: number; from: number } | undefined;
  let last = -1;
  for (const row of rows) {
    const from = offset;
    offset += row.bytes;
    if (offset <= start) continue;
    if (from >= end) break;
    first ??= { seq: row.seq, from };
    last = row.seq;
  }
  if (first === undefined) return;
  // Chunks deleted under us end the read early: the part's length check reports it.
  let at = first.from;
  for await (const piece of readChunkRuns(pool, jobId, first.seq, last + 1)) {
    const lo = Math.max(start - at, 0);
    const hi = Math.min(end - at, piece.length);
    if (hi > lo) yield piece.subarray(lo, hi);
    at += piece.length;
    if (at >= end) return;
  }
}
