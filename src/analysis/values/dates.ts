import { daysFromCivil, daysInMonth } from './calendar.ts';

/**
 * Date parsing for the hot loop: char-code scanning, no regex, no Date objects. A date is
 * an integer day number (days since 1970-01-01, may be negative); a month is an integer
 * `year * 12 + (month - 1)`.
 *
 * Forms (docs/reference.md, "Values"), each optionally followed by a time (`T` or a space, `H:MM`,
 * `H:MM:SS`, a fraction, ` AM`/` PM`, a zone `Z`, `±hh:mm`, `±hhmm`, `±hh`, ` UTC`, ` GMT`):
 * - year first: `YYYY-MM-DD` (two-digit month and day), `YYYY/M/D`, `YYYY.M.D`;
 * - day and month: `M/D/YYYY`, `D-M-YY`, … with `/` or `-`, one or two digits each, a two- or
 *   four-digit year; read in the file's one order (`MDY` or `DMY`);
 * - dotted `D.M.YYYY` / `D.M.YY`: always day first (what German, Swiss and Nordic tools write;
 *   nobody writes `M.D.Y`, so reading it month-first would only ever misread);
 * - `YYYYMMDD`, only when the caller says the column reads that way (see `date-order.ts`);
 * - English month names: `Jan 5 2024`, `Jan 5, 2024`, `January 5, 2024`, `5 Jan 2024`,
 *   `05-Jan-2024` (and a two-digit year in each).
 * Two-digit years: 00–68 are 2000–2068, 69–99 are 1969–1999 (POSIX `%y`). v1.2: a date counts
 * as written, zone or not (`2024-06-30 22:00 -0400` is 30 June); `zoneUtcMinutes` is for `options.timeZone`.
 */

/**
 * After `parseDate` of a date-time with a zone: its time in UTC as minutes from the written
 * day's midnight (may be negative or past 1440); NaN when the text had no zone.
 */
export let zoneUtcMinutes = NaN;

/** The order of a file's numeric dates: day/month either way, or year first only. */
export type DateOrder = 'MDY' | 'DMY' | 'YMD';

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLetter = (c: number): boolean => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;

// Scanner state, module-level so the hot path allocates nothing.
let pos = 0;

/** Reads min..max digits at `pos`; returns -1 when there are fewer than `min`. */
function digits(s: string, end: number, min: number, max: number): number {
  let v = 0;
  let k = 0;
  while (pos < end && k < max) {
    const c = s.charCodeAt(pos);
    if (!isDigit(c)) break;
    v = v * 10 + (c - 48);
    pos++;
    k++;
  }
  return k < min ? -1 : v;
}

/** A two- or four-digit year at `pos` (POSIX pivot for two digits), -1 otherwise. */
function year(s: string, end: number): number {
  const from = pos;
  const y = digits(s, end, 2, 4);
  const len = pos - from;
  if (y < 0 || len === 3) return -1;
  return len === 4 ? y : y < 69 ? 2000 + y : 1900 + y;
}

const MONTH_NAMES = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/** An English month name or its three-letter (or `Sept`) abbreviation at `pos`: 1–12, or -1. */
function monthName(s: string, end: number): number {
  const from = pos;
  while (pos < end && pos - from < 10 && isLetter(s.charCodeAt(pos))) pos++;
  const len = pos - from;
  if (len < 3) return -1;
  const word = s.slice(from, pos).toLowerCase();
  if (s.charCodeAt(pos) === 46 /* . */ && len <= 4) pos++; // "Jan." "Sept."
  for (let m = 0; m < 12; m++) {
    const name = MONTH_NAMES[m]!;
    if (word === name || (len === 3 && name.startsWith(word)) || (m === 8 && word === 'sept')) {
      return m + 1;
    }
  }
  return -1;
}

function skipSpaces(s: string, end: number): boolean {
  const from = pos;
  while (pos < end && s.charCodeAt(pos) === 32) pos++;
  return pos > from;
}

/**
 * Parses the time part starting at `pos` (just after `T` or a space) to its end. Returns 0,
 * or NaN when the text is not a time; a zone sets `zoneUtcMinutes`.
 */
function timeShift(s: string, end: number): number {
  let h = digits(s, end, 1, 2);
  if (h < 0 || s.charCodeAt(pos) !== 58 /* : */) return NaN;
  pos++;
  const mi = digits(s, end, 2, 2);
  if (mi < 0 || mi > 59) return NaN;
  if (s.charCodeAt(pos) === 58) {
    pos++;
    const sec = digits(s, end, 2, 2);
    if (sec < 0 || sec > 60) return NaN;
    const c = s.charCodeAt(pos);
    if (c === 46 /* . */ || c === 44 /* , */) {
      pos++;
      if (digits(s, end, 1, 12) < 0) return NaN;
    }
  }
  if (pos < end && s.charCodeAt(pos) === 32) pos++;
  // 12-hour clock
  let c = s.charCodeAt(pos) | 0x20;
  if ((c === 0x61 /* a */ || c === 0x70) /* p */ && (s.charCodeAt(pos + 1) | 0x20) === 0x6d) {
    if (h < 1 || h > 12) return NaN;
    if (c === 0x70 && h !== 12) h += 12;
    else if (c === 0x61 && h === 12) h = 0;
    pos += 2;
    if (pos < end && s.charCodeAt(pos) === 32) pos++;
  }
  if (h > 23) return NaN;
  if (pos === end) return 0;
  c = s.charCodeAt(pos);
  let offset = 0;
  if (c === 90 /* Z */ || c === 122) {
    pos++;
  } else if (c === 43 /* + */ || c === 45 /* - */) {
    pos++;
    const oh = digits(s, end, 2, 2);
    if (oh < 0 || oh > 14) return NaN;
    if (s.charCodeAt(pos) === 58) pos++;
    let om = 0;
    if (pos < end) {
      om = digits(s, end, 2, 2);
      if (om < 0 || om > 59) return NaN;
    }
    offset = (c === 45 ? -1 : 1) * (oh * 60 + om);
  } else if (end - pos === 3) {
    const z = s.slice(pos, end).toUpperCase();
    if (z !== 'UTC' && z !== 'GMT') return NaN;
    pos = end;
  } else {
    return NaN;
  }
  if (pos !== end) return NaN;
  zoneUtcMinutes = h * 60 + mi - offset;
  return 0;
}

function finish(s: string, end: number, y: number, m: number, d: number): number {
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return NaN;
  if (pos === end) return daysFromCivil(y, m, d);
  const c = s.charCodeAt(pos);
  if (c !== 84 /* T */ && c !== 32 && c !== 116) return NaN;
  pos++;
  if (timeShift(s, end) !== 0) return NaN;
  return daysFromCivil(y, m, d);
}

/**
 * Day number of a date text, or NaN when it is not a date in the forms above. `order` is the
 * file's one day/month order (`YMD`: day/month forms are not read); `eightDigits` lets
 * `YYYYMMDD` through.
 */
export function parseDate(s: string, order: DateOrder, eightDigits = false): number {
  zoneUtcMinutes = NaN;
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 32) start++;
  while (end > start && s.charCodeAt(end - 1) <= 32) end--;
  if (end - start < 6) return NaN;
  pos = start;
  if (!isDigit(s.charCodeAt(start))) return monthNameFirst(s, end);
  const a = digits(s, end, 1, 8);
  const aLen = pos - start;
  const sep = s.charCodeAt(pos);
  if (sep === 45 /* - */ || sep === 47 /* / */ || sep === 46 /* . */) {
    pos++;
    if (aLen === 4) return yearFirst(s, end, a, sep);
    if (aLen > 2) return NaN;
    if (sep === 45 && isLetter(s.charCodeAt(pos))) return dayThenMonthName(s, end, a, sep);
    return dayMonth(s, end, a, sep, order);
  }
  if (aLen === 8) {
    if (!eightDigits) return NaN;
    return finish(s, end, (a / 10000) | 0, ((a / 100) | 0) % 100, a % 100);
  }
  if (sep === 32 && aLen <= 2) return dayThenMonthName(s, end, a, sep);
  return NaN;
}

/** `YYYY-MM-DD` (two-digit parts), `YYYY/M/D`, `YYYY.M.D`; `pos` is after the first separator. */
function yearFirst(s: string, end: number, y: number, sep: number): number {
  const bStart = pos;
  const m = digits(s, end, 1, 2);
  if (m < 0 || s.charCodeAt(pos) !== sep) return NaN;
  const bLen = pos - bStart;
  pos++;
  const cStart = pos;
  const d = digits(s, end, 1, 2);
  if (d < 0 || (sep === 45 && (bLen !== 2 || pos - cStart !== 2))) return NaN;
  return finish(s, end, y, m, d);
}

/** `a/b/y`, `a-b-y`, `a.b.y` with a one- or two-digit `a` already read. */
function dayMonth(s: string, end: number, a: number, sep: number, order: DateOrder): number {
  const b = digits(s, end, 1, 2);
  if (b < 0 || s.charCodeAt(pos) !== sep) return NaN;
  pos++;
  const y = year(s, end);
  if (y < 0 || order === 'YMD') return NaN;
  if (sep === 46 || order === 'DMY') return finish(s, end, y, b, a);
  return finish(s, end, y, a, b);
}

/** `5 Jan 2024`, `05-Jan-2024`, `5 January, 2024`: the day is read, `pos` is at the separator. */
function dayThenMonthName(s: string, end: number, d: number, sep: number): number {
  if (sep === 32) skipSpaces(s, end);
  const m = monthName(s, end);
  if (m < 0) return NaN;
  if (sep === 45) {
    if (s.charCodeAt(pos) !== 45) return NaN;
    pos++;
  } else {
    if (s.charCodeAt(pos) === 44 /* , */) pos++;
    if (!skipSpaces(s, end)) return NaN;
  }
  const y = year(s, end);
  return y < 0 ? NaN : finish(s, end, y, m, d);
}

/** `Jan 5 2024`, `Jan 5, 2024`, `January 5, 2024`. */
function monthNameFirst(s: string, end: number): number {
  const m = monthName(s, end);
  if (m < 0 || !skipSpaces(s, end)) return NaN;
  const d = digits(s, end, 1, 2);
  if (d < 0) return NaN;
  if (s.charCodeAt(pos) === 44 /* , */) pos++;
  if (!skipSpaces(s, end)) return NaN;
  const y = year(s, end);
  return y < 0 ? NaN : finish(s, end, y, m, d);
}
