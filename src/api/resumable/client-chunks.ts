import { finished, type Readable } from 'node:stream';
import { TallyError } from '../../errors.ts';

/**
 * A request body's chunks, as they arrive from the client, for a tus PATCH.
 *
 * Two things Node's own async iterator of a stream does not do:
 * - When the connection drops, Node destroys the request, and its iterator then yields
 *   nothing more, dropping the bytes that had already arrived and sat in the request's
 *   buffer (up to ~128 KiB on this machine's loopback; all of a short PATCH whose handler
 *   was still taking its lease when the cut came). `read()` still hands out a destroyed
 *   stream's buffer, so these are yielded before the interruption is thrown: tus keeps
 *   every byte received.
 * - The idle timeout counts only the client's silence: its timer runs while this waits for
 *   the next chunk, and is stopped while the consumer holds a chunk (writing it to the
 *   store). A slow store's back-pressure is not a stalled client.
 *
 * Ends normally at the body's end; throws the interruption (cut off, or REQUEST_TIMEOUT)
 * once every buffered byte has been yielded.
 */
export async function* clientChunks(body: Readable, idleTimeoutMs: number): AsyncGenerator<Buffer> {
  let wake = () => undefined as void;
  let ended = false;
  let interruption: Error | undefined;
  const onReadable = () => wake();
  body.on('readable', onReadable);
  const stopWatching = finished(body, { writable: false }, (error) => {
    ended = true;
    interruption = error ?? undefined;
    wake();
  });
  let idle: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      const chunk = body.read() as Buffer | null;
      if (chunk !== null) {
        yield chunk;
        continue;
      }
      if (ended) {
        if (interruption) throw interruption;
        return;
      }
      idle = setTimeout(() => body.destroy(stalled(idleTimeoutMs)), idleTimeoutMs);
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      clearTimeout(idle);
    }
  } finally {
    clearTimeout(idle);
    body.off('readable', onReadable);
    stopWatching();
  }
}

function stalled(idleTimeoutMs: number): TallyError {
  return new TallyError(
    'REQUEST_TIMEOUT',
    `The upload stalled: no data for ${Math.round(idleTimeoutMs / 1000)} s; resume it.`,
  );
}
