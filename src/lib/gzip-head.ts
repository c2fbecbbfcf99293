import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { TallyError } from '../errors.ts';
import { HEAD_BYTES, isGzip } from './file-head.ts';

/**
 * The head of a gzip file, decompressed as far as the compressed head allows. A head of
 * 64 KiB of gzip can inflate to a lot; more than 64 MiB of output is refused rather than
 * held in memory. The one copy: the upload check and the analysis both use it.
 */
export function gunzipHead(buf: Buffer): Buffer {
  try {
    const out = gunzipSync(buf, {
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
      maxOutputLength: 64 * 1024 * 1024,
    });
    return out.subarray(0, HEAD_BYTES);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new TallyError(
        'DECOMPRESSED_TOO_LARGE',
        'The first 64 KiB of the gzip file decompress to more than 64 MiB; this is not a revenue export.',
      );
    }
    throw new TallyError(
      'INVALID_CSV',
      `The file starts like gzip but cannot be decompressed (${(error as Error).message}). Compress the file again and re-upload it.`,
    );
  }
}

/**
 * Tally unwraps exactly one gzip layer, at upload and in the worker. A decompressed head
 * that is gzip again (a file compressed twice) is refused the same way in both places:
 * the worker would otherwise parse compressed bytes as CSV text.
 */
export function refuseNestedGzip(decompressedHead: Uint8Array): void {
  if (isGzip(decompressedHead)) {
    throw new TallyError(
      'INVALID_CSV',
      'The file is gzip inside gzip (compressed twice). Decompress it once and upload the result, or upload the plain CSV.',
    );
  }
}

/** The upload's head as text bytes: unwrapped once if gzip, refused if gzip twice. */
export function inflateHead(head: Buffer): { compression: 'none' | 'gzip'; text: Buffer } {
  if (!isGzip(head)) return { compression: 'none', text: head };
  const text = gunzipHead(head);
  refuseNestedGzip(text);
  return { compression: 'gzip', text };
}
