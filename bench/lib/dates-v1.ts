// Frozen copy of the v1.0 date reader (before the v1.1 date forms), kept only as the
// baseline bench/analysis.bench.ts measures the v1.1 reader against on the common ISO and
// slash forms. Not used by the app.
/**
 * Date parsing for the hot loop: char-code scanning, no regex, no Date objects. A date is
 * an integer day number (days since 1970-01-01, may be negative); a month is an integer
 * `year * 12 + (month - 1)`.
 *
 * Accepted (v1.0): `YYYY-MM-DD`; ISO date-times with `T` or a space, optional
 * seconds and fraction, zone `Z`, `±hh:mm`, `±hhmm` or `±hh`, optionally after a space
 * (`2024-01-05 13:22:11 -0500`), also ` UTC`/` GMT` and a 12-hour ` AM`/` PM`;
 * `MM/DD/YYYY` or `DD/MM/YYYY` (1- or 2-digit parts), `YYYY/MM/DD`, `DD.MM.YYYY`, each
 * optionally followed by a time. With a zone the UTC calendar date counts; without one the
 * date as written.
 */

export type SlashOrder = 'MDY' | 'DMY';

/** Days from 1970-01-01 to y-m-d (proleptic Gregorian), after Howard Hinnant's days_from_civil. */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = (((153 * mp + 2) / 5) | 0) + d - 1;
  const doe = yoe * 365 + ((yoe / 4) | 0) - ((yoe / 100) | 0) + doy;
  return era * 146097 + doe - 719468;
}

/** [year, month 1-12, day 1-31] of a day number. */
export function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = ((doe - ((doe / 1460) | 0) + ((doe / 36524) | 0) - ((doe / 146096) | 0)) / 365) | 0;
  const doy = doe - (365 * yoe + ((yoe / 4) | 0) - ((yoe / 100) | 0));
  const mp = ((5 * doy + 2) / 153) | 0;
  const d = doy - (((153 * mp + 2) / 5) | 0) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** `year * 12 + month - 1` of a day number, without allocating (hot path). */
export function monthOfDay(day: number): number {
  const zz = day + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = ((doe - ((doe / 1460) | 0) + ((doe / 36524) | 0) - ((doe / 146096) | 0)) / 365) | 0;
  const doy = doe - (365 * yoe + ((yoe / 4) | 0) - ((yoe / 100) | 0));
  const mp = ((5 * doy + 2) / 153) | 0;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return (yoe + era * 400 + (m <= 2 ? 1 : 0)) * 12 + m - 1;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

export function formatDay(day: number): string {
  const [y, m, d] = civilFromDays(day);
  return `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)}`;
}

export function formatMonth(month: number): string {
  const y = Math.floor(month / 12);
  return `${String(y).padStart(4, '0')}-${pad2(month - y * 12 + 1)}`;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

// Scanner state, module-level so the hot path allocates nothing.
let pos = 0;

/** Reads 1..max digits at `pos`; returns -1 when there is none. */
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

/**
 * Parses the time part starting at `pos` (just after `T` or a space) to its end. Returns the
 * day shift (-1, 0, 1) a zone causes, or NaN when the text is not a time.
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
  const utcMinutes = h * 60 + mi - offset;
  return utcMinutes < 0 ? -1 : utcMinutes >= 1440 ? 1 : 0;
}

function finish(s: string, end: number, y: number, m: number, d: number): number {
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return NaN;
  if (pos === end) return daysFromCivil(y, m, d);
  const c = s.charCodeAt(pos);
  if (c !== 84 /* T */ && c !== 32 && c !== 116) return NaN;
  pos++;
  const shift = timeShift(s, end);
  if (shift !== shift) return NaN;
  return daysFromCivil(y, m, d) + shift;
}

/**
 * Day number of a date text, or NaN when it is not a date. `order` decides `a/b/yyyy`.
 */
export function parseDate(s: string, order: SlashOrder): number {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 32) start++;
  while (end > start && s.charCodeAt(end - 1) <= 32) end--;
  if (end - start < 8) return NaN;
  pos = start;
  const a = digits(s, end, 1, 4);
  if (a < 0) return NaN;
  const aLen = pos - start;
  const sep = s.charCodeAt(pos);
  if (sep !== 45 /* - */ && sep !== 47 /* / */ && sep !== 46 /* . */) return NaN;
  pos++;
  const bStart = pos;
  const b = digits(s, end, 1, 2);
  if (b < 0 || s.charCodeAt(pos) !== sep) return NaN;
  const bLen = pos - bStart;
  pos++;
  if (aLen === 4) {
    // YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD
    const cStart = pos;
    const c = digits(s, end, 1, 2);
    if (c < 0 || (sep === 45 && (bLen !== 2 || pos - cStart !== 2))) return NaN;
    return finish(s, end, a, b, c);
  }
  if (aLen > 2 || sep === 45) return NaN;
  const cStart = pos;
  const y = digits(s, end, 4, 4);
  if (y < 0 || pos - cStart !== 4) return NaN;
  if (sep === 46) return finish(s, end, y, b, a); // DD.MM.YYYY
  return order === 'DMY' ? finish(s, end, y, b, a) : finish(s, end, y, a, b);
}

/**
 * Evidence for the slash order from one date text: 1 when its first part is over 12 (so it
 * must be a day), 2 when its second part is, 0 otherwise (or not a slash date).
 */
export function slashEvidence(s: string): 0 | 1 | 2 {
  const t = s.trim();
  const i = t.indexOf('/');
  if (i < 1 || i > 2) return 0;
  const j = t.indexOf('/', i + 1);
  if (j < i + 2 || j > i + 3) return 0;
  const first = Number(t.slice(0, i));
  const second = Number(t.slice(i + 1, j));
  if (first > 12) return 1;
  if (second > 12) return 2;
  return 0;
}

/** DMY when some first part is over 12 and no second part is, otherwise MDY (as v1.0 read it). */
export function decideSlashOrder(firstOver12: boolean, secondOver12: boolean): SlashOrder {
  return firstOver12 && !secondOver12 ? 'DMY' : 'MDY';
}
