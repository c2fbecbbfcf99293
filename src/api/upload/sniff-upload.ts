import { createGunzip } from 'node:zlib';
import { TallyError } from '../../errors.ts';
import { inspectHead, type HeadInfo } from '../../analysis/head.ts';
import type { JobOptions } from '../../analysis/options.ts';
import { HEAD_BYTES } from './spool-upload.ts';

export interface SniffResult extends HeadInfo {
  compression: 'none' | 'gzip';
}

const isGzip = (head: Buffer) => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

/**
 * Decides at upload time whether the file can be analysed at all, so that a PDF renamed
 * .csv gets a 422 now instead of a failed job later. gzip is recognised by its magic
 * bytes, whatever the filename says.
 */
export async function sniffUpload(head: Buffer, options: JobOptions): Promise<SniffResult> {
  if (head.length === 0) throw new TallyError('INVALID_CSV', 'The file is empty.');
  if (!isGzip(head)) return { compression: 'none', ...inspectHead(head, options) };
  const text = await gunzipHead(head);
  if (text.length === 0) throw new TallyError('INVALID_CSV', 'The gzip file holds no data.');
  return { compression: 'gzip', ...inspectHead(text, options) };
}

/** Inflates the start of a (possibly cut-off) gzip stream, at most HEAD_BYTES of output. */
function gunzipHead(compressed: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let size = 0;
    const gunzip = createGunzip();
    const done = () => {
      gunzip.removeAllListeners();
      gunzip.on('error', () => undefined);
      gunzip.destroy();
      resolve(Buffer.concat(out).subarray(0, HEAD_BYTES));
    };
    gunzip.on('data', (chunk: Buffer) => {
      out.push(chunk);
      size += chunk.length;
      if (size >= HEAD_BYTES) done();
    });
    gunzip.on('end', done);
    gunzip.on('error', (error: NodeJS.ErrnoException) => {
      // A head cut mid-stream ends early ("unexpected end of file"): what came out is the head.
      if (error.code === 'Z_BUF_ERROR' && size > 0) return done();
      reject(
        new TallyError(
          'INVALID_CSV',
          `The file looks like gzip but cannot be decompressed: ${error.message}.`,
        ),
      );
    });
    gunzip.end(compressed);
  });
}
