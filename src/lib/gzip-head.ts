import { createGunzip, gunzipSync, constants as zlibConstants } from 'node:zlib';
import { TallyError } from '../errors.ts';
import { HEAD_BYTES, isGzip } from './file-head.ts';

/** Compressed bytes handed to zlib at a time: it stops asking for more once the head is full. */
const FEED_BYTES = 4096;

/**
 * The first HEAD_BYTES of a gzip file's text, inflated as a stream on zlib's thread pool
 * that stops as soon as the head is filled. The upload check runs it on the API's event
 * loop for every gzip upload: a synchronous inflate of the whole compressed head (64 KiB
 * of gzip, up to 64 MiB of output) stalled every other request for 136–1,640 ms on a bomb's
 * head (shared 2-vCPU VM, 3 runs), and held the output in memory. Streamed, the same head
 * took 2–41 ms with the event loop's longest stall ≤ 31 ms (3 runs, the VM busy).
 */
export async function gunzipHeadStreaming(buf: Buffer): Promise<Buffer> {
  const z = createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH });
  const out: Buffer[] = [];
  let length = 0;
  const filled = new Promise<void>((resolve, reject) => {
    z.on('data', (chunk: Buffer) => {
      out.push(chunk);
      length += chunk.length;
      if (length >= HEAD_BYTES) {
        resolve();
        z.destroy(); // now: zlib would otherwise inflate the rest of the chunk it holds
      }
    });
    z.once('end', resolve);
    z.once('error', reject);
  });
  // Fed in small pieces, each only once zlib wants more: a bomb's head stops after a few KiB.
  const feed = async () => {
    for (let at = 0; at < buf.length && length < HEAD_BYTES && !z.destroyed; at += FEED_BYTES) {
      if (!z.write(buf.subarray(at, at + FEED_BYTES))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            z.off('drain', done);
            z.off('close', done);
            resolve();
          };
          z.on('drain', done);
          z.on('close', done);
        });
      }
    }
    if (!z.destroyed && length < HEAD_BYTES) z.end();
  };
  try {
    await Promise.all([filled, feed()]);
  } catch (error) {
    throw new TallyError(
      'INVALID_CSV',
      `The file starts like gzip but cannot be decompressed (${(error as Error).message}). Compress the file again and re-upload it.`,
    );
  } finally {
    z.destroy();
  }
  return Buffer.concat(out, length).subarray(0, HEAD_BYTES);
}

/**
 * The same, synchronously, for callers holding a small head in hand (analyzeHead given gzip
 * bytes directly). The upload check and the worker do not come here: they inflate as a
 * stream. More than 64 MiB of output is refused rather than held in memory.
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

/** The upload's head as text bytes: unwrapped once if gzip (as a stream), refused if gzip twice. */
export async function inflateHead(head: Buffer): Promise<{ compression: 'none' | 'gzip'; text: Buffer }> {
  if (!isGzip(head)) return { compression: 'none', text: head };
  const text = await gunzipHeadStreaming(head);
  refuseNestedGzip(text);
  return { compression: 'gzip', text };
}
