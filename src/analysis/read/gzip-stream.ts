import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TallyError } from '../../errors.ts';
import { formatBytes } from '../../lib/format-bytes.ts';

function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * The decompressed bytes of a gzip stream, refusing more than `maxBytes` of output (a gzip
 * bomb) with DECOMPRESSED_TOO_LARGE and corrupt or cut-off data with INVALID_CSV.
 */
export async function* gunzip(source: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<Buffer> {
  const z = createGunzip();
  // Errors of the pipeline reach the consumer through `z` itself; the callback only stops
  // `pipeline` from raising them a second time.
  pipeline(Readable.from(source), z, () => undefined);
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
