import type { Readable } from 'node:stream';
import { TallyError } from '../../errors.ts';
import type { Staging } from '../../files/stored-files.ts';
import { clientChunks } from './client-chunks.ts';

export interface AppendOutcome {
  /** Why the body ended early (cut off, stalled, too long), or undefined when it was read to its end. */
  interruption: Error | undefined;
}

/**
 * Streams a PATCH body into the staging, whatever its size (flat memory: the store cuts and
 * stores as it goes, and `write` resolves once the buffer may be reused). A body cut off
 * mid-way is not a failure in tus: every byte that arrived is kept (client-chunks.ts yields
 * them all; the caller suspends the staging) and the client resumes from the offset HEAD
 * reports. A staging that refuses a write (swept, or a commit failed) is a failure: that
 * error is thrown.
 */
export async function appendBody(
  body: Readable,
  staging: Staging,
  opts: { uploadLength: number; idleTimeoutMs: number },
): Promise<AppendOutcome> {
  // A write's failure is the upload's; the body's (cut off, stalled) is only an interruption.
  let writing = false;
  const write = async (data: Buffer) => {
    writing = true;
    await staging.write(data);
    writing = false;
  };
  try {
    for await (const chunk of clientChunks(body, opts.idleTimeoutMs)) {
      const room = opts.uploadLength - staging.offset;
      if (chunk.length > room) {
        if (room > 0) await write(chunk.subarray(0, room));
        body.destroy();
        return {
          interruption: new TallyError('BAD_REQUEST', 'The PATCH carries more bytes than Upload-Length.'),
        };
      }
      await write(chunk);
    }
    return { interruption: undefined };
  } catch (error) {
    if (writing) throw error;
    return { interruption: error instanceof Error ? error : new Error(String(error)) };
  }
}
