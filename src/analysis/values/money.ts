/**
 * Money as exact scaled integers. An amount is parsed into integer micro-units (10⁻⁶) held
 * in a JS number; sums are exact because every addend and every running partial stays
 * below 2^53 (see `MoneySum`). Amounts beyond ±2^52 micro-units (±4.5 billion) take a
 * BigInt path. Digits beyond the 6th decimal are rounded half away from zero at parse time.
 */

export const MICRO = 1_000_000;
/** Largest |amount| in micro-units taken on the number path; a partial sum spills at this size. */
export const FAST_LIMIT = 2 ** 52;
/**
 * Amounts are read below 10^15 (a quadrillion) only: digits are bounded, never `Number`
 * trusted (`Number("1".repeat(400))` is Infinity). Anything larger is no revenue figure,
 * and keeping amounts below it keeps every sum, share and money number finite.
 */
export const MAX_AMOUNT = 1e15;
export const MAX_AMOUNT_MICRO = BigInt(MAX_AMOUNT) * BigInt(MICRO);

/** Set by `parseAmount` when it returns `BIG`: the exact value in micro-units. */
export let bigAmount = 0n;
/** Set by `parseAmount`: the currency symbol or code text found around the number ('' if none). */
export let amountCurrencyToken = '';
/** Returned by `parseAmount` when the value is too large for the number path; see `bigAmount`. */
export const BIG = Infinity;

// Char codes.
const Ch = {
  Space: 32,
  Quote: 39,
  LParen: 40,
  RParen: 41,
  Plus: 43,
  Comma: 44,
  Minus: 45,
  Dot: 46,
  Zero: 48,
  Nine: 57,
} as const;

function isBlank(c: number): boolean {
  return c === Ch.Space || c === 9 || c === 0xa0 || c === 0x2009 || c === 0x202f;
}

/** Letters and currency signs that may stand around a number: `$`, `€`, `USD`, `zł`, `US$`. */
function isCurrencyChar(c: number): boolean {
  return (
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    c === 36 ||
    (c >= 0xa2 && c <= 0xa5) ||
    (c >= 0x20a0 && c <= 0x20cf) ||
    c === 0x0e3f || // ฿
    c === 0x0142 || // ł (zł)
    c === 0x010d // č (Kč)
  );
}

const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000];

// Scanner state (module-level: nothing allocated per call on the common path).
let sStart = 0;
let sEnd = 0;

function scanCurrency(s: string, from: number, to: number): number {
  let i = from;
  while (i < to && isCurrencyChar(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Parses an amount text into micro-units. Returns NaN when it is not a number, `BIG` when it
 * is valid but too large for the number path (value in `bigAmount`). Accepts a currency
 * symbol or code before or after the number, a leading `-`/`+` (before or after the
 * symbol), a trailing `-`, parentheses for negatives, thousands separators (the other of
 * `.`/`,`, a space or an apostrophe, groups of three digits) and `decimalComma`.
 */
export function parseAmount(s: string, decimalComma: boolean): number {
  amountCurrencyToken = '';
  const plain = plainAmount(s, decimalComma ? Ch.Comma : Ch.Dot);
  if (plain === plain) return plain;
  let i = 0;
  let n = s.length;
  while (i < n && isBlank(s.charCodeAt(i))) i++;
  while (n > i && isBlank(s.charCodeAt(n - 1))) n--;
  if (i === n) return NaN;
  let negative = false;
  let signs = 0;
  if (s.charCodeAt(i) === Ch.LParen && s.charCodeAt(n - 1) === Ch.RParen) {
    negative = true;
    signs++;
    i++;
    n--;
  }
  // Prefix: sign and/or currency, in either order, with optional spaces.
  let token = '';
  for (;;) {
    while (i < n && isBlank(s.charCodeAt(i))) i++;
    if (i >= n) return NaN;
    const c = s.charCodeAt(i);
    if (c === Ch.Minus || c === 0x2212) {
      if (signs++ > 0) return NaN;
      negative = true;
      i++;
    } else if (c === Ch.Plus) {
      if (signs++ > 0) return NaN;
      i++;
    } else if (isCurrencyChar(c)) {
      if (token !== '') return NaN;
      const e = scanCurrency(s, i, n);
      token = s.slice(i, e);
      i = e;
    } else {
      break;
    }
  }
  // Suffix: currency and/or trailing minus.
  for (;;) {
    while (n > i && isBlank(s.charCodeAt(n - 1))) n--;
    const c = s.charCodeAt(n - 1);
    if (c === Ch.Minus || c === 0x2212) {
      if (signs++ > 0) return NaN;
      negative = true;
      n--;
    } else if (isCurrencyChar(c)) {
      if (token !== '') return NaN;
      let b = n - 1;
      while (b > i && isCurrencyChar(s.charCodeAt(b - 1))) b--;
      token = s.slice(b, n);
      n = b;
    } else {
      break;
    }
  }
  if (token !== '') amountCurrencyToken = token;
  sStart = i;
  sEnd = n;
  return parseNumberBody(s, decimalComma, negative);
}

/**
 * The text most amount cells hold, `-?digits[.digits]` (≤ 15 integer and ≤ 6 decimal digits,
 * below FAST_LIMIT), read in one scan; NaN for any other text, which `parseAmount` then reads
 * in full (same value: no rounding, grouping, sign or currency is involved; 4M random texts
 * read alike both ways). Skipping the trims, the sign and currency loops and the grouping
 * checks took the bench's 1M amount cells from ~160 ms to ~75 ms.
 */
function plainAmount(s: string, decimalChar: number): number {
  const n = s.length;
  const negative = s.charCodeAt(0) === Ch.Minus;
  let i = negative ? 1 : 0;
  const intStart = i;
  let intPart = 0;
  for (; i < n; i++) {
    const d = s.charCodeAt(i) - Ch.Zero;
    if (d >>> 0 > 9) break;
    intPart = intPart * 10 + d;
  }
  const intDigits = i - intStart;
  if (intDigits > 15) return NaN;
  let micro = intPart * MICRO;
  if (i < n) {
    if (s.charCodeAt(i) !== decimalChar) return NaN;
    const fracStart = ++i;
    let frac = 0;
    for (; i < n; i++) {
      const d = s.charCodeAt(i) - Ch.Zero;
      if (d >>> 0 > 9) return NaN;
      frac = frac * 10 + d;
    }
    const fracDigits = i - fracStart;
    if (fracDigits > 6 || intDigits + fracDigits === 0) return NaN;
    micro += frac * POW10[6 - fracDigits]!;
  } else if (intDigits === 0) {
    return NaN;
  }
  if (micro > FAST_LIMIT) return NaN;
  return negative && micro !== 0 ? -micro : micro;
}

/** A thousands separator: the other of `.`/`,`, an apostrophe or a (narrow, no-break) space. */
function isGroupSeparator(c: number, groupChar: number): boolean {
  return c === groupChar || c === Ch.Quote || c === Ch.Space || c === 0xa0 || c === 0x202f || c === 0x2009;
}

function parseNumberBody(s: string, decimalComma: boolean, negative: boolean): number {
  const decimalChar = decimalComma ? Ch.Comma : Ch.Dot;
  const groupChar = decimalComma ? Ch.Dot : Ch.Comma;
  let i = sStart;
  const n = sEnd;
  let intPart = 0;
  let intDigits = 0;
  let run = 0; // digits since the last group separator
  let grouped = false;
  let groupSep = -1;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= Ch.Zero && c <= Ch.Nine) {
      intPart = intPart * 10 + (c - Ch.Zero);
      intDigits++;
      run++;
    } else if (isGroupSeparator(c, groupChar)) {
      // Every group after the first is exactly three digits; one separator kind per number.
      if (run === 0 || (grouped ? run !== 3 : run > 3)) return NaN;
      if (grouped && c !== groupSep) return NaN;
      grouped = true;
      groupSep = c;
      run = 0;
    } else if (c === decimalChar) {
      break;
    } else {
      return NaN;
    }
  }
  if (grouped && run !== 3) return NaN;
  // Exact below 2^53, and ≥ 10^15 (or Infinity) for any longer run of digits.
  if (intPart >= MAX_AMOUNT) return NaN;
  let frac = 0;
  let fracDigits = 0;
  let roundUp = false;
  if (i < n) {
    // at the decimal separator
    for (i++; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < Ch.Zero || c > Ch.Nine) return NaN;
      if (fracDigits < 6) {
        frac = frac * 10 + (c - Ch.Zero);
      } else if (fracDigits === 6) {
        roundUp = c >= 53;
      }
      fracDigits++;
    }
  }
  if (intDigits === 0 && fracDigits === 0) return NaN;
  if (intDigits > 15) return bigPath(s, decimalComma, negative);
  let micro = intPart * MICRO + frac * POW10[6 - Math.min(fracDigits, 6)]! + (roundUp ? 1 : 0);
  if (micro > FAST_LIMIT) return bigPath(s, decimalComma, negative);
  if (negative) micro = -micro;
  return micro === 0 ? 0 : micro;
}

/** Slow exact path for amounts of 2^52 micro-units and more. */
function bigPath(s: string, decimalComma: boolean, negative: boolean): number {
  const decimalChar = decimalComma ? ',' : '.';
  let intDigits = '';
  let fracDigits = '';
  let inFrac = false;
  for (let i = sStart; i < sEnd; i++) {
    const ch = s[i]!;
    if (ch >= '0' && ch <= '9') {
      if (inFrac) fracDigits += ch;
      else intDigits += ch;
    } else if (ch === decimalChar) {
      inFrac = true;
    }
  }
  const six = (fracDigits + '000000').slice(0, 6);
  let v = BigInt(intDigits || '0') * BigInt(MICRO) + BigInt(six);
  if (fracDigits.length > 6 && fracDigits.charCodeAt(6) >= 53) v += 1n;
  bigAmount = negative ? -v : v;
  return BIG;
}

/**
 * Why an amount text that `parseAmount` refused is no amount, for a rejected row's reason
 * (called for the kept samples only).
 */
export function amountProblem(text: string, decimalComma: boolean): string {
  const t = text.trim();
  const intDigits = /^\D*0*(\d[\d,.' \u00a0]*)/.exec(t)?.[1]?.split(decimalComma ? ',' : '.')[0];
  if (intDigits !== undefined && intDigits.replace(/\D/g, '').length > 15) {
    return 'has more than 15 digits before the decimal point; Tally reads amounts below 10^15';
  }
  if (!decimalComma && /^\D*\d{1,3}(\.\d{3})*,\d{1,2}\D*$/.test(t)) {
    return 'is not a number (decimal comma? set options.decimalSeparator to ",")';
  }
  return 'is not a number';
}

export { currencyOfToken } from './currency-codes.ts';

/**
 * Evidence for a decimal comma from one amount text in a `;` file: 1 for a comma, 2 for a
 * dot, 0 when it cannot tell (`1,234`, `12`). The last separator decides: followed by other
 * than exactly three digits it is the decimal separator; `1.234,5` and `1,234.5` decide too.
 */
export function decimalEvidence(s: string): 0 | 1 | 2 {
  const lastComma = s.lastIndexOf(',');
  const lastDot = s.lastIndexOf('.');
  if (lastComma < 0 && lastDot < 0) return 0;
  if (lastComma >= 0 && lastDot >= 0) return lastComma > lastDot ? 1 : 2;
  const at = Math.max(lastComma, lastDot);
  let digitsAfter = 0;
  for (let i = at + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digitsAfter++;
    else break;
  }
  if (digitsAfter === 3 || digitsAfter === 0) return 0;
  return lastComma >= 0 ? 1 : 2;
}
