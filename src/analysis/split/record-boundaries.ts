const LF = 10;
const CR = 13;
const QUOTE = 34;

export type RecordDelimiter = '\n' | '\r\n';

/**
 * The record delimiter csv-parse discovers from the file's first line break (`head` from the
 * file's first byte): CRLF or LF; 'cr' for a lone CR (cuts are found after LFs: such a file
 * is read in one piece); null when the head holds no line break.
 */
export function discoverRecordDelimiter(head: Buffer): RecordDelimiter | 'cr' | null {
  const lf = head.indexOf(LF);
  const cr = head.indexOf(CR);
  if (cr >= 0 && (lf < 0 || cr < lf)) {
    if (cr + 1 === head.length) return null; // the next byte decides
    return head[cr + 1] === LF ? '\r\n' : 'cr';
  }
  return lf >= 0 ? '\n' : null;
}

/** Outside a quoted field; inside one; inside one, right after a quote (escape or close: the next byte says). */
const OUTSIDE = 0;
const INSIDE = 1;
const QUOTE_SEEN = 2;
type QuoteState = typeof OUTSIDE | typeof INSIDE | typeof QUOTE_SEEN;

/** Where a record starts near a cut's target, and whether the bytes prove it (see recordStartNear). */
export interface RecordStart {
  /** Offset in the window of the record's first byte. */
  readonly at: number;
  /** False: a quoted field may span the whole window, and the part before must confirm the cut. */
  readonly sure: boolean;
}

/**
 * Finds where a record starts at or after `from` in `window` (bytes of a CSV from some way
 * into the file, `from` ≥ 2 so the two bytes before it are there), without the bytes before
 * the window: whether `from` lies inside a quoted field is unknown, so both are followed at
 * once, each as csv-parse under Tally's options (`relax_quotes`) moves in and out of a
 * quoted field: a quote opens a field only as its first byte; inside, `""` is a quote and
 * any other quote closes it. The two readings meet as soon as either reaches the other's
 * state, and from there they agree on every byte: the first record end (a newline outside
 * a quote; in a CRLF file, CR LF) where both are outside is a record start whatever the
 * bytes before the window, and `sure`. In the split tests' files, a third of whose bytes
 * sit in quoted fields with line breaks, every offset gives a sure start, ~0.35 record
 * starts past the first (2026-12-06).
 *
 * Readings that never meet in the window give a guess, not `sure`: the first record end of
 * the one that is outside a quote at the window's end, if only one is (the other would be
 * inside a field longer than what is left of the window), else of the one that started
 * outside. Null: neither reading ends a record in the window.
 */
export function recordStartNear(
  window: Buffer,
  from: number,
  delimiter: number,
  recordDelimiter: RecordDelimiter,
): RecordStart | null {
  let start = from;
  while (start < window.length && window[start - 1] === QUOTE) start++; // never right after a quote
  let outside: QuoteState = OUTSIDE;
  let inside: QuoteState = INSIDE;
  let outsideEnd = -1;
  let insideEnd = -1;
  for (let at = start; at < window.length; at++) {
    outside = step(window, at, outside, delimiter, recordDelimiter);
    inside = step(window, at, inside, delimiter, recordDelimiter);
    if (window[at] !== LF || (outside !== OUTSIDE && inside !== OUTSIDE)) continue;
    if (recordDelimiter === '\r\n' && window[at - 1] !== CR) continue; // a lone LF is text in a CRLF file
    if (outside === inside) return { at: at + 1, sure: true };
    if (outside === OUTSIDE && outsideEnd < 0) outsideEnd = at + 1;
    if (inside === OUTSIDE && insideEnd < 0) insideEnd = at + 1;
  }
  const guess = inside === OUTSIDE && outside !== OUTSIDE && insideEnd >= 0 ? insideEnd : outsideEnd;
  return guess < 0 ? (insideEnd < 0 ? null : { at: insideEnd, sure: false }) : { at: guess, sure: false };
}

/** The quote state after the byte at `at`. */
function step(
  window: Buffer,
  at: number,
  state: QuoteState,
  delimiter: number,
  recordDelimiter: RecordDelimiter,
): QuoteState {
  const byte = window[at]!;
  if (state === QUOTE_SEEN) {
    if (byte === QUOTE) return INSIDE; // "" inside a quoted field
    state = OUTSIDE; // the quote closed the field; this byte is read outside it
  }
  if (state === INSIDE) return byte === QUOTE ? QUOTE_SEEN : INSIDE;
  if (byte !== QUOTE) return OUTSIDE;
  const p1 = window[at - 1];
  if (p1 === delimiter) return INSIDE;
  if (p1 !== LF) return OUTSIDE; // a quote inside an unquoted field is text
  return recordDelimiter === '\n' || window[at - 2] === CR ? INSIDE : OUTSIDE;
}
