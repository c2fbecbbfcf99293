import { TallyError } from '../errors.ts';

/**
 * Which text encoding a file is read in (docs/reference.md, "Reading a file"), decided from the head of the
 * file, once, at upload, again in the worker, and in the page's column preview (all call
 * `decodeHead`, so a name chosen in the page is the name the server sees). Browser-safe:
 * no Node imports (the worker's streaming half, which needs `node:buffer`, is
 * src/analysis/encoding.ts).
 * 1. a byte-order mark: UTF-8, UTF-16LE or UTF-16BE (a BOM beats `options.encoding`, as in
 *    browsers: it cannot be there by accident);
 * 2. `options.encoding`, as the person says;
 * 3. UTF-8 when the head is valid UTF-8 (a fatal decoder over the head, a sequence cut off by
 *    the head's end does not count against it);
 * 4. otherwise Windows-1252, what Excel's plain "CSV" writes on Western systems.
 */
export interface HeadText {
  text: string;
  /** WHATWG name of the encoding, as reported in `input.encoding`: "utf-8", "windows-1252", … */
  encoding: string;
}

/** Length of `buf` without a UTF-8 sequence cut off at its end. */
export function completeUtf8Length(buf: Uint8Array): number {
  const n = buf.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = buf[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte, look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

export function bomEncoding(head: Uint8Array): string | null {
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
export function decodeHead(head: Uint8Array, option?: string): HeadText {
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
