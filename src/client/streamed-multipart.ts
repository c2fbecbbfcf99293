import type { UploadOptions } from './types.ts';

const SLICE_BYTES = 64 * 1024;

export interface StreamedMultipart {
  stream: ReadableStream<Uint8Array>;
  /** The body's exact length in bytes, for Content-Length. */
  length: number;
}

/**
 * A multipart/form-data body (the `options` part, then the `file` part) as a stream that
 * reads the file only when the HTTP layer pulls, reporting the file bytes handed over, so
 * progress follows the socket and memory stays flat for any size.
 */
export function streamedMultipart(
  boundary: string,
  file: Blob,
  filename: string,
  options: UploadOptions | undefined,
  report: (loaded: number) => void,
): StreamedMultipart {
  const encoder = new TextEncoder();
  let head = '';
  if (options !== undefined) {
    head +=
      `--${boundary}\r\nContent-Disposition: form-data; name="options"\r\n` +
      `Content-Type: application/json\r\n\r\n${JSON.stringify(options)}\r\n`;
  }
  head +=
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoteFilename(filename)}"\r\n` +
    `Content-Type: ${file.type || 'text/csv'}\r\n\r\n`;
  const headBytes = encoder.encode(head);
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  return {
    stream: countedStream(headBytes, file, tail, report),
    length: headBytes.byteLength + file.size + tail.byteLength,
  };
}

function countedStream(
  headBytes: Uint8Array,
  file: Blob,
  tail: Uint8Array,
  report: (loaded: number) => void,
): ReadableStream<Uint8Array> {
  const reader = file.stream().getReader();
  let pending: Uint8Array | undefined; // rest of a chunk larger than SLICE_BYTES
  let sent = 0;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(headBytes);
      },
      // Called only when the HTTP layer wants more: `sent` trails the socket by one chunk.
      // An in-memory Blob streams as one chunk: slice it, or progress jumps from 0 to 100.
      async pull(controller) {
        let chunk = pending;
        if (!chunk) {
          const { done, value } = await reader.read();
          if (done) {
            controller.enqueue(tail);
            controller.close();
            return;
          }
          chunk = value;
        }
        pending = chunk.byteLength > SLICE_BYTES ? chunk.subarray(SLICE_BYTES) : undefined;
        const slice = pending ? chunk.subarray(0, SLICE_BYTES) : chunk;
        sent += slice.byteLength;
        report(sent);
        controller.enqueue(slice);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** As browsers do (WHATWG multipart/form-data encoding): escape quotes and line breaks. */
function quoteFilename(name: string): string {
  return name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
