import { parseDate } from './dates.ts';
import type { DateOrder } from './dates.ts';
import type { DateFormat } from '../options.ts';

/**
 * The per-file decision of how numeric dates are read (docs/reference.md, "Values"), made once from
 * the head of the file (the aggregator's first `DECIDE_ROWS` rows) and then applied to every
 * row, so that one file never mixes two readings of `03/01/19`.
 */
export interface DateReading {
  /** Day/month order of `a/b/y` and `a-b-y` dates; `YMD` reads year-first forms only. */
  readonly order: DateOrder;
  /** `YYYYMMDD` is read (the head's dates are all eight digits, or `dateFormat` is `YMD`). */
  readonly eightDigits: boolean;
  /** What the result reports as `input.dateFormat`. */
  readonly reported: DateFormat | null;
  /** The order came from `options.dateFormat`, not from the head. */
  readonly given: boolean;
}

// The shape of one date text, enough to decide the order. Regexes are fine here: only the
// head's rows are classified, once per file.
const DAY_MONTH = /^\s*(\d{1,2})([/-])(\d{1,2})\2(?:\d{2}|\d{4})(?:$|[\sT])/;
const DOTTED = /^\s*\d{1,2}\.\d{1,2}\.(?:\d{2}|\d{4})(?:$|[\sT])/;
const YEAR_FIRST = /^\s*\d{4}[/.-]\d{1,2}[/.-]\d{1,2}(?:$|[\sT])/;
const EIGHT_DIGITS = /^\s*\d{8}(?:$|[\sT])/;

/** Collects what the head's date texts show; `decide` turns it into a `DateReading`. */
export class DateEvidence {
  private firstOver12 = false;
  private secondOver12 = false;
  private dayMonth = false;
  private dotted = false;
  private yearFirst = false;
  private eight = 0;
  private other = 0;

  add(text: string): void {
    if (text.trim() === '') return;
    const dm = DAY_MONTH.exec(text);
    if (dm !== null) {
      this.dayMonth = true;
      if (Number(dm[1]) > 12) this.firstOver12 = true;
      if (Number(dm[3]) > 12) this.secondOver12 = true;
      this.other++;
      return;
    }
    if (EIGHT_DIGITS.test(text) && !Number.isNaN(parseDate(text, 'YMD', true))) {
      this.eight++;
      return;
    }
    this.other++;
    if (DOTTED.test(text)) this.dotted = true;
    else if (YEAR_FIRST.test(text)) this.yearFirst = true;
  }

  decide(option: DateFormat | undefined): DateReading {
    const eightDigits = option === 'YMD' || (this.eight > 0 && this.other === 0);
    if (option !== undefined) return { order: option, eightDigits, reported: option, given: true };
    // DMY when some first part is over 12 and no second part is, otherwise MDY.
    const order: DateOrder = this.firstOver12 && !this.secondOver12 ? 'DMY' : 'MDY';
    let reported: DateFormat | null = null;
    if (this.dayMonth) reported = order;
    else if (this.dotted) reported = 'DMY';
    else if (this.yearFirst || eightDigits) reported = 'YMD';
    return { order, eightDigits, reported, given: false };
  }
}

const ORDER_WORDS: Record<DateOrder, string> = {
  MDY: 'month first (MDY)',
  DMY: 'day first (DMY)',
  YMD: 'year first (YMD)',
};

/**
 * Why a date text was not read, for a rejected row's reason: names the form and the option
 * that would read it. Called only for the samples kept, never per row.
 */
export function dateProblem(text: string, reading: DateReading, show: (v: string) => string): string {
  if (text.trim() === '') return 'date is empty';
  const shown = `date ${show(text)}`;
  const how = reading.given ? 'as options.dateFormat says' : 'as decided from the first 1,000 rows';
  if (EIGHT_DIGITS.test(text) && !reading.eightDigits) {
    return `${shown} is eight digits, read as YYYYMMDD only when the column's first 1,000 dates are all written so (set options.dateFormat to "YMD" to read them)`;
  }
  if (DAY_MONTH.test(text) || DOTTED.test(text)) {
    if (reading.order === 'YMD') {
      return `${shown} is day/month/year, but options.dateFormat is "YMD"`;
    }
    const other: DateOrder = reading.order === 'MDY' ? 'DMY' : 'MDY';
    if (!DOTTED.test(text) && !Number.isNaN(parseDate(text, other))) {
      return `${shown} is not a date ${ORDER_WORDS[reading.order]}, ${how}; set options.dateFormat to "${other}" if the file is ${ORDER_WORDS[other]}`;
    }
  }
  return `${shown} is not a date`;
}
