import { dateProblem } from '../values/date-order.ts';
import type { DateReading } from '../values/date-order.ts';
import { parseDate, zoneUtcMinutes } from '../values/dates.ts';
import type { ZoneCalendar } from '../values/zone-calendar.ts';
import { DATE_WINDOW_TEXT, FIRST_DAY, LAST_DAY } from './limits.ts';
import { show } from './rejections.ts';
import type { Rejections } from './rejections.ts';

/** The day a row counts on: its date as written, or (v1.2) in `options.timeZone` when zoned. */
export class DayReader {
  private lastText = '';
  private lastDay = NaN;

  constructor(
    private readonly index: number,
    private readonly reading: DateReading,
    private readonly zone: ZoneCalendar | null,
    private readonly rejections: Rejections,
  ) {}

  /** The row's day, or NaN after rejecting the row. */
  dayOf(record: readonly string[], line: number): number {
    // Exports are usually in date order, so the previous row's date text is the cache. A
    // Map from text to day was tried and was slower than parsing: every field is a fresh
    // string, and hashing it for the lookup (~80 ns) costs more than the char scan (~30 ns).
    const text = record[this.index]!;
    let day: number;
    if (text === this.lastText) {
      day = this.lastDay;
    } else {
      day = parseDate(text, this.reading.order, this.reading.eightDigits);
      const minutes = zoneUtcMinutes;
      if (this.zone !== null && minutes === minutes && day === day) day = this.zone.dayOf(day, minutes);
      this.lastText = text;
      this.lastDay = day;
    }
    if (day !== day) {
      this.rejections.reject('date', line, () => dateProblem(text, this.reading, show));
      return NaN;
    }
    if (day < FIRST_DAY || day > LAST_DAY) {
      this.rejections.reject(
        'dateOutsideWindow',
        line,
        () =>
          `date ${show(text)} is outside ${DATE_WINDOW_TEXT}, the dates Tally reads (a placeholder or a typo?)`,
      );
      return NaN;
    }
    return day;
  }
}
