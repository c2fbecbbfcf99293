import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TallyError } from '../../errors.ts';
import { formatBytes } from '../../lib/format-bytes.ts';

function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Output allowed before the ratio bound applies: a small file's first blocks (a header and
 * a few similar rows) can inflate far more than the file as a whole.
 */
const RATIO_FLOOR_BYTES = 1024 * 1024;

/**
 * The decompressed bytes of a gzip stream, refusing more than `maxBytes` of output, or more
 * than `maxRatio` times the compressed bytes read so far (a gzip bomb: deflate reaches
 * ~1000×, real CSV exports 4–15×), with DECOMPRESSED_TOO_LARGE, and corrupt or cut-off
 * data with INVALID_CSV.
 */
export async function* gunzip(
  source: AsyncIterable<Buffer>,
  maxBytes: number,
  maxRatio = Number.POSITIVE_INFINITY,
): AsyncGenerator<Buffer> {
  const z = createGunzip();
  let compressed = 0;
  const counted = async function* () {
    for await (const chunk of source) {
      compressed += chunk.length;
      yield chunk;
    }
  };
  // Errors of the pipeline reach the consumer through `z` itself; the callback only stops
  // `pipeline` from raising them a second time.
  pipeline(Readable.from(counted()), z, () => undefined);
  let total = 0;
  try {
    for await (const chunk of z as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        throw new TallyError(
          'DECOMPRESSED_TOO_LARGE',
          `The gzip file decompresses to more than ${formatBytes(maxBytes)}. Upload a smaller export or split it.`,
        );
      }
      if (total > RATIO_FLOOR_BYTES && total > maxRatio * compressed) {
        throw new TallyError(
          'DECOMPRESSED_TOO_LARGE',
          `The gzip file decompresses to more than ${maxRatio} times its compressed size (the ` +
            'MAX_DECOMPRESSION_RATIO limit), which real exports do not; upload the plain CSV instead.',
        );
      }
      yield chunk;
    }
  } catch (error) {
    if (isZlibError(error)) {
      throw new TallyError(
        'INVALID_CSV',
        `The gzip data is corrupt or cut off (${(error as Error).message}). Compress the file again and re-upload it.`,
      );
    }
    throw error;
  } finally {
    z.destroy();
  }
}
