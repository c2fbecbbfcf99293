import { isAscii, isUtf8 } from 'node:buffer';
import { TallyError } from '../../errors.ts';
import { canonicalEncoding } from '../options.ts';

/**
 * Which text encoding a file is read in (CONTRACT.md §5 v1.1), decided from the head of the
 * file, once, at upload and again in the worker (both call `decodeHead`):
 * 1. a byte-order mark: UTF-8, UTF-16LE or UTF-16BE (a BOM beats `options.encoding`, as in
 *    browsers: it cannot be there by accident);
 * 2. `options.encoding`, as the person says;
 * 3. UTF-8 when the head is valid UTF-8 (a fatal decoder over the head, a sequence cut off by
 *    the head's end does not count against it);
 * 4. otherwise Windows-1252, what Excel's plain "CSV" writes on Western systems.
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
export interface HeadText {
  text: string;
  /** WHATWG name of the encoding, as reported in `input.encoding`: "utf-8", "windows-1252", … */
  encoding: string;
}

/** Length of `buf` without a UTF-8 sequence cut off at its end. */
function completeUtf8Length(buf: Uint8Array): number {
  const n = buf.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = buf[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte, look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

function bomEncoding(head: Uint8Array): string | null {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return null;
}

function isValidUtf8(head: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, completeUtf8Length(head)));
    return true;
  } catch {
    return false;
  }
}

/** The encoding a file is read in; `option` is `options.encoding` (already canonical). */
export function detectEncoding(head: Uint8Array, option?: string): string {
  return bomEncoding(head) ?? option ?? (isValidUtf8(head) ? 'utf-8' : 'windows-1252');
}

/** C0 controls other than tab, LF and CR, and DEL: what text never holds and binary does. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13) || c === 0x7f) return true;
  }
  return false;
}

/**
 * Decodes the head of an upload (BOM removed). Throws INVALID_CSV for binary data: NUL or
 * other control characters besides tab, CR and LF once decoded, whatever the encoding.
 */
export function decodeHead(head: Buffer, option?: string): HeadText {
  const encoding = detectEncoding(head, option);
  // A cut-off last character is dropped by the non-streaming decode as U+FFFD; the head's
  // last line is never judged as a whole record, so that does not matter.
  const text = new TextDecoder(encoding).decode(
    encoding === 'utf-8' ? head.subarray(0, completeUtf8Length(head)) : head,
  );
  if (hasControlCharacter(text)) {
    const utf16Hint =
      encoding !== 'utf-16le' && encoding !== 'utf-16be' && head.includes(0)
        ? ' If it is UTF-16 text without a byte-order mark, set options.encoding to "utf-16le" (or "utf-16be").'
        : '';
    throw new TallyError(
      'INVALID_CSV',
      `The file is binary (it contains NUL or other control bytes), not CSV text. Upload a CSV export (optionally gzip-compressed).${utf16Hint}`,
    );
  }
  return { text, encoding };
}

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
