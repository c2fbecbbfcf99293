// Browser-safe (the page's column preview reads headers with it): no Node imports here.
// One copy of the head constants, shared with the upload check (src/lib).
export { HEAD_BYTES, isGzip } from '../../lib/file-head.ts';
export const delimiterCandidates = [',', ';', '\t', '|'] as const;
export type Delimiter = (typeof delimiterCandidates)[number];

export interface HeadRecords {
  records: string[][];
  /** false when the text ended inside the last record (the head was cut mid-record). */
  lastComplete: boolean;
}

/**
 * A small RFC 4180 reader for the head only (≤ 64 KiB, once per upload): quoted fields may
 * hold delimiters, doubled quotes and newlines; blank lines are skipped as csv-parse does.
 */
export function readRecords(text: string, delimiter: string, maxRecords: number): HeadRecords {
  const records: string[][] = [];
  const d = delimiter.charCodeAt(0);
  let record: string[] = [];
  let field = '';
  let fieldStarted = false;
  let i = 0;
  const n = text.length;
  while (i < n && records.length < maxRecords) {
    const c = text.charCodeAt(i);
    if (c === 34 && field === '' && !fieldStarted) {
      const quoted = readQuoted(text, i + 1);
      field = quoted.value;
      i = quoted.end;
      fieldStarted = true;
      continue;
    }
    if (c === d) {
      record.push(field);
      field = '';
      fieldStarted = false;
      i++;
      continue;
    }
    if (c === 10 || c === 13) {
      if (record.length > 0 || field !== '' || fieldStarted) {
        record.push(field);
        records.push(record);
      }
      record = [];
      field = '';
      fieldStarted = false;
      i += c === 13 && text.charCodeAt(i + 1) === 10 ? 2 : 1;
      continue;
    }
    field += text[i];
    fieldStarted = true;
    i++;
  }
  if (records.length < maxRecords && (record.length > 0 || field !== '' || fieldStarted)) {
    record.push(field);
    records.push(record);
    return { records, lastComplete: false };
  }
  return { records, lastComplete: true };
}

/**
 * Reads a quoted field from just after its opening quote to just after its closing one (or
 * the end of a cut head), a doubled quote standing for one.
 */
function readQuoted(text: string, from: number): { value: string; end: number } {
  let value = '';
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 34) {
      value += text[i];
      i++;
    } else if (text.charCodeAt(i + 1) === 34) {
      value += '"';
      i += 2;
    } else {
      i++;
      break;
    }
  }
  return { value, end: i };
}

/** Per line, how many times `ch` occurs outside quotes; blank lines skipped. */
function countPerLine(text: string, ch: number, maxLines: number): number[] {
  const counts: number[] = [];
  let quoted = false;
  let count = 0;
  let nonBlank = false;
  for (let i = 0; i < text.length && counts.length < maxLines; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      quoted = !quoted;
      nonBlank = true;
    } else if (quoted) {
      continue;
    } else if (c === 10 || c === 13) {
      if (nonBlank) counts.push(count);
      count = 0;
      nonBlank = false;
    } else {
      if (c === ch) count++;
      nonBlank = true;
    }
  }
  if (nonBlank && counts.length < maxLines) counts.push(count);
  return counts;
}

/**
 * Picks the delimiter whose count on the header line is non-zero and repeats on the most
 * following lines (a decimal comma in a `;` file shows up on data lines only, so it loses);
 * ties go to the larger header count, then to the order `,` `;` tab `|`.
 */
export function detectDelimiter(text: string): Delimiter {
  let best: Delimiter = ',';
  let bestScore = -1;
  let bestHeaderCount = 0;
  for (const candidate of delimiterCandidates) {
    const counts = countPerLine(text, candidate.charCodeAt(0), 50);
    // The last line of a head may be cut short; judge it only when it is the only data line.
    const data = counts.length > 2 ? counts.slice(1, -1) : counts.slice(1);
    const headerCount = counts[0] ?? 0;
    if (headerCount === 0) continue;
    const agreeing = data.filter((c) => c === headerCount).length;
    const score = data.length === 0 ? 1 : agreeing / data.length;
    if (score > bestScore || (score === bestScore && headerCount > bestHeaderCount)) {
      best = candidate;
      bestScore = score;
      bestHeaderCount = headerCount;
    }
  }
  return best;
}
