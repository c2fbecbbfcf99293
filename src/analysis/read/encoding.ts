import { isAscii, isUtf8 } from 'node:buffer';
import { bomEncoding, completeUtf8Length } from '../../lib/decode-head.ts';
import { canonicalEncoding } from '../options.ts';

/**
 * The worker's streaming half of the encoding decision; the head's half (BOM, option,
 * UTF-8 or Windows-1252), which the page's column preview shares, is src/lib/decode-head.ts.
 *
 * After the head (the worker's stream, `LateEncodingCheck`): when the head held non-ASCII
 * UTF-8, the file is UTF-8 for good, and a stray non-UTF-8 byte further on becomes U+FFFD
 * in that one cell (csv-parse's own decoding) rather than failing a job that has counted
 * rows in UTF-8. When the head was plain ASCII, it said nothing either way: the first
 * non-ASCII bytes decide, and if they are not UTF-8 the rest is read as Windows-1252 and
 * reported so. Everything before them was ASCII, which both encodings read alike, so no
 * row already counted is read differently. (Checked with Node's simdutf-backed `isAscii` /
 * `isUtf8`: a few ms over an 80 MB file.)
 */
export { decodeHead, detectEncoding, type HeadText } from '../../lib/decode-head.ts';

/**
 * For the worker's stream: turns chunks of the file's bytes into UTF-8 for csv-parse, or null
 * when the file is UTF-8 already (csv-parse then reads the bytes as they are, the fast path).
 * A streaming TextDecoder keeps a character split across two chunks whole.
 */
export function utf8Transcoder(encoding: string): ((chunk: Uint8Array | undefined) => Buffer) | null {
  if (encoding === 'utf-8') return null;
  const decoder = new TextDecoder(canonicalEncoding(encoding) ?? encoding);
  return (chunk) =>
    Buffer.from(chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true }), 'utf8');
}

/**
 * Whether the head's verdict "UTF-8" is only provisional: no BOM, no `options.encoding`,
 * and a head of plain ASCII (valid in every encoding Tally falls back to).
 */
export function encodingIsProvisional(head: Uint8Array, option?: string): boolean {
  return option === undefined && bomEncoding(head) === null && isAscii(head);
}

/**
 * For a file whose head was plain ASCII: watches the bytes after it until the first
 * non-ASCII ones show whether the file is UTF-8 or Windows-1252 (see the top of this file).
 * A sequence cut at the end of a chunk is held back until the next one completes it.
 */
export class LateEncodingCheck {
  /** 'utf-8' until non-UTF-8 bytes show up; then 'windows-1252'. */
  encoding = 'utf-8';
  decided = false;
  private held: Buffer | null = null;

  /** The bytes to parse now (as they are: the caller transcodes once `encoding` changes). */
  accept(chunk: Buffer | undefined, end: boolean): Buffer | undefined {
    let buf = chunk;
    if (this.held !== null) {
      buf = chunk === undefined ? this.held : Buffer.concat([this.held, chunk]);
      this.held = null;
    }
    if (buf === undefined || isAscii(buf)) return buf;
    const complete = end ? buf.length : completeUtf8Length(buf);
    const body = buf.subarray(0, complete);
    if (!isUtf8(body)) {
      this.encoding = 'windows-1252';
      this.decided = true;
      return buf;
    }
    if (!isAscii(body)) {
      this.decided = true;
      return buf;
    }
    this.held = Buffer.from(buf.subarray(complete));
    return body;
  }
}
