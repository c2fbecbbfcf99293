import { detectDelimiter, readRecords } from '../../../analysis/read/dialect.ts';
import { decodeHead } from '../../../lib/decode-head.ts';
import { HEAD_BYTES, isGzip } from '../../../lib/file-head.ts';

/**
 * Reads the header row of a chosen file in the browser, to offer its column names in the
 * mapping selects. It runs the server's own head steps (src/lib/decode-head.ts,
 * src/analysis/dialect.ts: the encoding decision, the delimiter scored over 50 lines, the
 * RFC 4180 record reader) on the same first 64 KiB of text, so a name chosen here is the
 * name the server sees. Only the unwrapping of gzip is the browser's own: the server's uses
 * node:zlib, the page DecompressionStream. Rejects where the server would refuse the head
 * (binary data): the page then offers no names.
 */
export async function readHeaderNames(file: Blob, delimiter?: string, encoding?: string): Promise<string[]> {
  let head = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
  if (isGzip(head)) head = await gunzipHead(file);
  const { text } = decodeHead(head, encoding);
  const [header = []] = readRecords(text, delimiter ?? detectDelimiter(text), 1).records;
  return header.map((name) => name.trim()).filter((name) => name !== '');
}

/** The first 64 KiB of a gzip file's text (less where the file or a corrupt stream ends). */
async function gunzipHead(file: Blob): Promise<Uint8Array<ArrayBuffer>> {
  const reader = file.stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  const out = new Uint8Array(HEAD_BYTES);
  let size = 0;
  try {
    while (size < HEAD_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, HEAD_BYTES - size);
      out.set(value.subarray(0, take), size);
      size += take;
    }
  } catch {
    // corrupt after some text: read what came (the server will say what is wrong)
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  return out.subarray(0, size);
}
