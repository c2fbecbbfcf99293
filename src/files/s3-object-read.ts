import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';

/** Times a read is picked up again after its connection broke. */
const READ_RETRIES = 3;

/**
 * An object's bytes in order, streamed (GetObject's body, never buffered whole). A
 * connection that breaks mid-way (an analysis slower than the network can keep one idle
 * connection open: S3 closes those) is picked up where it stopped with a Range request, up
 * to READ_RETRIES times. A missing object ends the read at once: the caller's verification
 * (src/files/verified-read.ts) reports the missing bytes.
 */
export async function* readObject(
  s3: S3Client,
  bucket: string,
  key: string,
  /** Only bytes [start, end) (a part of a file analysed in parallel). */
  range?: { start: number; end: number },
): AsyncGenerator<Buffer> {
  let position = range?.start ?? 0;
  const last = range === undefined ? '' : String(range.end - 1);
  if (range !== undefined && range.end <= range.start) return;
  let retries = 0;
  for (;;) {
    let body: Readable;
    try {
      const out = await s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(position > 0 || range !== undefined ? { Range: `bytes=${position}-${last}` } : {}),
        }),
      );
      body = out.Body as Readable;
    } catch (error) {
      if (error instanceof NoSuchKey) return;
      throw error;
    }
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        position += chunk.length;
        yield chunk;
      }
      return;
    } catch (error) {
      if (++retries > READ_RETRIES) throw error;
    } finally {
      body.destroy();
    }
  }
}
