import type pg from 'pg';
import { assertJobId, copyChunk } from './read-file-chunks.ts';

/**
 * Bytes [start, end) of a job's stored file. Chunks are 1 MiB except the last of each
 * request of a resumable upload, so the chunk holding `start` is found from the chunks'
 * lengths (`octet_length` of an uncompressed, externally stored bytea reads its TOAST
 * pointer, not its bytes), then chunks are read as `readFileChunks` reads them.
 */
export async function* readFileRange(
  pool: pg.Pool,
  jobId: string,
  start: number,
  end: number,
): AsyncGenerator<Buffer> {
  assertJobId(jobId);
  const { rows } = await pool.query<{ seq: number; bytes: number }>(
    'select seq, octet_length(data) as bytes from job_file_chunks where job_id = $1 order by seq',
    [jobId],
  );
  let offset = 0;
  for (const row of rows) {
    const from = offset;
    offset += row.bytes;
    if (offset <= start) continue;
    if (from >= end) return;
    const chunk = await copyChunk(pool, jobId, row.seq);
    if (chunk === undefined) return; // deleted under us: the part's length check reports it
    let at = from;
    for (const piece of chunk.data) {
      const lo = Math.max(start - at, 0);
      const hi = Math.min(end - at, piece.length);
      if (hi > lo) yield piece.subarray(lo, hi);
      at += piece.length;
    }
  }
}
