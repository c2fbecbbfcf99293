import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DateEvidence, dateProblem } from '../../src/analysis/values/date-order.ts';
import {
  civilFromDays,
  daysFromCivil,
  formatDay,
  formatMonth,
  monthOfDay,
} from '../../src/analysis/values/calendar.ts';
import { parseDate } from '../../src/analysis/values/dates.ts';
import type { DateOrder } from '../../src/analysis/values/dates.ts';

const day = (iso: string): number =>
  Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 864e5;

describe('parseDate', () => {
  const valid: [string, string, DateOrder?][] = [
    ['2024-01-05', '2024-01-05'],
    [' 2024-01-05 ', '2024-01-05'],
    ['2024-02-29', '2024-02-29'], // leap year
    ['2000-02-29', '2000-02-29'], // divisible by 400
    ['2024-01-05T13:22:11', '2024-01-05'], // no zone: as written
    ['2024-01-05 23:59:59', '2024-01-05'],
    ['2024-01-05T13:22', '2024-01-05'],
    ['2024-01-05T13:22:11.123456', '2024-01-05'],
    ['2024-01-05T13:22:11Z', '2024-01-05'],
    ['2024-01-05T23:30:00Z', '2024-01-05'],
    ['2024-01-05T23:30:00-01:00', '2024-01-05'], // v1.2: as written (00:30 UTC is the next day)
    ['2024-01-05T23:30:00.5-0100', '2024-01-05'],
    ['2024-01-05 13:22:11 -0500', '2024-01-05'], // Shopify
    ['2024-01-31 22:30:00 -0500', '2024-01-31'], // the shop's day, not UTC's
    ['2024-12-31 22:30:00 -05:00', '2024-12-31'],
    ['2024-01-01T01:00:00+02:00', '2024-01-01'],
    ['2024-03-01 00:30:00 +0100', '2024-03-01'],
    ['2024-01-05T10:00:00+05', '2024-01-05'],
    ['2024-01-05 10:00:00 UTC', '2024-01-05'],
    ['2024-01-05 11:59 PM', '2024-01-05'],
    ['01/05/2024', '2024-01-05', 'MDY'],
    ['01/05/2024', '2024-05-01', 'DMY'],
    ['1/5/2024', '2024-01-05', 'MDY'],
    ['12/31/2024', '2024-12-31', 'MDY'],
    ['31/12/2024', '2024-12-31', 'DMY'],
    ['1/5/2024 13:45', '2024-01-05', 'MDY'],
    ['1/5/2024 1:45 PM', '2024-01-05', 'MDY'],
    ['2024/01/05', '2024-01-05', 'DMY'], // year first is never ambiguous
    ['05.01.2024', '2024-01-05'],
    ['5.1.2024', '2024-01-05'],
    ['31.12.2024 08:00', '2024-12-31'],
    // v1.1: two-digit years with the POSIX pivot, times after the date, dashes
    ['12/1/10', '2010-12-01', 'MDY'], // UCI Online Retail
    ['12/1/10 8:26', '2010-12-01', 'MDY'],
    ['2/24/2003 0:00', '2003-02-24', 'MDY'], // Kaggle sales_data_sample
    ['03/01/19', '2019-03-01', 'MDY'], // never the year 19
    ['03/01/19', '2019-01-03', 'DMY'],
    ['04-30-22', '2022-04-30', 'MDY'],
    ['26-07-2018', '2018-07-26', 'DMY'],
    ['1/5/69', '1969-01-05', 'MDY'], // 69–99 → 19xx
    ['1/5/68', '2068-01-05', 'MDY'], // 00–68 → 20xx
    ['1/5/00', '2000-01-05', 'MDY'],
    ['31.12.99', '1999-12-31'],
    ['8/11/2016 12:00:00 AM', '2016-08-11', 'MDY'],
    ['08/11/2016 11:59:59 PM', '2016-11-08', 'DMY'],
    // English month names
    ['Jan 5 2024', '2024-01-05'],
    ['Jan 5, 2024', '2024-01-05'],
    ['jan 5, 2024', '2024-01-05'],
    ['January 5, 2024', '2024-01-05'],
    ['Sept 30, 2024', '2024-09-30'],
    ['5 Jan 2024', '2024-01-05'],
    ['05-Jan-2024', '2024-01-05'],
    ['05-JAN-24', '2024-01-05'],
    ['5 December 1999', '1999-12-05'],
    ['Dec 31, 2024 11:59:59 PM', '2024-12-31'],
    ['Feb 29, 2024 10:00 UTC', '2024-02-29'],
  ];
  it.each(valid)('%j → %s', (text, iso, order = 'MDY') => {
    expect(parseDate(text, order)).toBe(day(iso));
  });

  it('reads YYYYMMDD only when told the column is written so', () => {
    expect(parseDate('20180111', 'MDY', true)).toBe(day('2018-01-11'));
    expect(parseDate('20180111 08:26:00', 'DMY', true)).toBe(day('2018-01-11'));
    expect(parseDate('20180111', 'MDY')).toBeNaN(); // never a number of days
    expect(parseDate('20181301', 'MDY', true)).toBeNaN();
  });

  it('reads day/month forms not at all when the order is YMD', () => {
    expect(parseDate('01/05/2024', 'YMD')).toBeNaN();
    expect(parseDate('2024/01/05', 'YMD')).toBe(day('2024-01-05'));
  });

  const invalid = [
    '',
    '   ',
    'yesterday',
    '2024-13-01',
    '2024-00-10',
    '2024-02-30',
    '2023-02-29',
    '2024-1-5', // ISO needs two digits
    '2024-01-05T25:00:00',
    '2024-01-05T10:60',
    '2024-01-05T10:00:00+1',
    '2024-01-05T10:00:00 EST',
    '2024-01-05x',
    '2024-01-05 13:22:11 -0500 extra',
    '13/13/2024',
    '1/5/202', // three-digit year
    '1/5/20245',
    '2024.13.01',
    '45000', // an Excel serial is not a date
    '1,234.56',
    'Jam 5 2024',
    'Jan 32 2024',
    '5 Janx 2024',
    'Jan 5th 2024',
    '2/30/24',
  ];
  it.each(invalid)('%j is not a date', (text) => {
    expect(parseDate(text, 'MDY')).toBeNaN();
    expect(parseDate(text, 'DMY')).toBeNaN();
  });

  it('13/01/2024 is a date only day-first', () => {
    expect(parseDate('13/01/2024', 'MDY')).toBeNaN();
    expect(parseDate('13/01/2024', 'DMY')).toBe(day('2024-01-13'));
  });

  it('agrees with Date.UTC for any day, as date and as midnight date-time', () => {
    fc.assert(
      fc.property(fc.integer({ min: -200_000, max: 200_000 }), (d) => {
        const iso = new Date(d * 864e5).toISOString().slice(0, 10);
        expect(formatDay(d)).toBe(iso);
        expect(parseDate(iso, 'MDY')).toBe(d);
        expect(parseDate(`${iso}T00:00:00Z`, 'MDY')).toBe(d);
        expect(parseDate(`${iso} 00:30:00 +0100`, 'MDY')).toBe(d); // v1.2: as written
        const [y, m, dd] = civilFromDays(d);
        expect(daysFromCivil(y, m, dd)).toBe(d);
        expect(monthOfDay(d)).toBe(y * 12 + m - 1);
        expect(formatMonth(monthOfDay(d)).slice(0, 7)).toBe(iso.slice(0, 7));
      }),
    );
  });
});

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LONG = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const p2 = (n: number): string => String(n).padStart(2, '0');

/** Every written form of y-m-d Tally reads, with the order (and YYYYMMDD flag) it needs. */
function forms(y: number, m: number, d: number): [string, DateOrder, boolean][] {
  const yy = p2(y % 100);
  const mon = MONTHS[m - 1]!;
  return [
    [`${y}-${p2(m)}-${p2(d)}`, 'MDY', false],
    [`${y}/${m}/${d}`, 'DMY', false],
    [`${y}.${p2(m)}.${p2(d)}`, 'YMD', false],
    [`${y}${p2(m)}${p2(d)}`, 'MDY', true],
    [`${y}${p2(m)}${p2(d)}`, 'YMD', true],
    [`${m}/${d}/${y}`, 'MDY', false],
    [`${p2(m)}/${p2(d)}/${yy}`, 'MDY', false],
    [`${m}-${d}-${yy} 0:00`, 'MDY', false],
    [`${d}/${m}/${y} 12:30 PM`, 'DMY', false],
    [`${p2(d)}-${p2(m)}-${yy}`, 'DMY', false],
    [`${d}/${m}/${yy}`, 'DMY', false],
    [`${d}.${m}.${y}`, 'MDY', false], // dotted is day first in either order
    [`${p2(d)}.${p2(m)}.${yy}`, 'DMY', false],
    [`${mon} ${d} ${y}`, 'MDY', false],
    [`${mon} ${d}, ${y}`, 'DMY', false],
    [`${LONG[m - 1]} ${d}, ${y} 8:26`, 'MDY', false],
    [`${d} ${mon} ${y}`, 'MDY', false],
    [`${p2(d)}-${mon}-${y}`, 'DMY', false],
    [`${p2(d)}-${mon.toUpperCase()}-${yy}`, 'MDY', false],
  ];
}

describe('every form round-trips', () => {
  it('every day of 1969–2068 in every form and order', () => {
    const first = daysFromCivil(1969, 1, 1);
    const last = daysFromCivil(2068, 12, 31);
    let checked = 0;
    for (let d = first; d <= last; d++) {
      const [y, m, dd] = civilFromDays(d);
      for (const [text, order, eight] of forms(y, m, dd)) {
        const got = parseDate(text, order, eight);
        if (got !== d) expect(`${text} (${order}) → ${formatDay(got)}`).toBe(formatDay(d));
        checked++;
      }
    }
    expect(checked).toBe((last - first + 1) * 19);
  });

  it('with any time after it, surrounding spaces and either order where the form fixes it', () => {
    const time = fc.constantFrom('', ' 0:00', ' 8:26', ' 23:59:59', ' 12:00 AM', ' 1:05:09 PM', 'T10:00:00Z');
    fc.assert(
      fc.property(
        fc.integer({ min: daysFromCivil(1969, 1, 1), max: daysFromCivil(2068, 12, 31) }),
        time,
        (d, t) => {
          const [y, m, dd] = civilFromDays(d);
          const iso = `${y}-${p2(m)}-${p2(dd)}`;
          for (const order of ['MDY', 'DMY'] as const) {
            expect(parseDate(`  ${iso}${t} `, order)).toBe(d);
            expect(parseDate(`${dd} ${MONTHS[m - 1]} ${y}${t === 'T10:00:00Z' ? '' : t}`, order)).toBe(d);
          }
          const mdy = `${m}/${dd}/${p2(y % 100)}${t === 'T10:00:00Z' ? '' : t}`;
          expect(parseDate(mdy, 'MDY')).toBe(d);
          if (m !== dd) expect(parseDate(mdy, 'DMY')).not.toBe(d);
        },
      ),
    );
  });
});

describe('the per-file date reading', () => {
  const decide = (texts: string[], option?: 'YMD' | 'MDY' | 'DMY') => {
    const e = new DateEvidence();
    for (const t of texts) e.add(t);
    return e.decide(option);
  };

  it('is DMY only when some first part is over 12 and no second part is', () => {
    expect(decide(['01/02/2024', '13/02/2024']).order).toBe('DMY');
    expect(decide(['26-07-2018', '01-08-2018']).order).toBe('DMY'); // dashes count too
    expect(decide(['13/1/19', '1/13/19']).order).toBe('MDY');
    expect(decide(['01/02/2024']).order).toBe('MDY');
    expect(decide(['2/24/2003 0:00']).order).toBe('MDY');
  });

  it('reports the order for day/month dates, YMD for year-first ones, null for month names only', () => {
    expect(decide(['13/01/2024']).reported).toBe('DMY');
    expect(decide(['2024-01-13', '']).reported).toBe('YMD');
    expect(decide(['05.01.2024']).reported).toBe('DMY');
    expect(decide(['20240113']).reported).toBe('YMD');
    expect(decide(['Jan 5, 2024']).reported).toBeNull();
    expect(decide(['13/01/2024'], 'MDY')).toEqual({
      order: 'MDY',
      eightDigits: false,
      reported: 'MDY',
      given: true,
    });
  });

  it('reads YYYYMMDD only when the head is eight-digit dates throughout', () => {
    expect(decide(['20180111', '', '20180112']).eightDigits).toBe(true);
    expect(decide(['20180111', '2018-01-12']).eightDigits).toBe(false);
    expect(decide(['20181311']).eightDigits).toBe(false); // month 13: a number, not a date
    expect(decide(['2018-01-12'], 'YMD').eightDigits).toBe(true);
  });

  it('names the form and the option in a rejection reason', () => {
    const show = (v: string) => JSON.stringify(v);
    const mdy = decide(['01/02/2024']);
    expect(dateProblem('13/01/2024', mdy, show)).toBe(
      'date "13/01/2024" is not a date month first (MDY), as decided from the first 1,000 rows; set options.dateFormat to "DMY" if the file is day first (DMY)',
    );
    expect(dateProblem('20180111', mdy, show)).toMatch(/eight digits, read as YYYYMMDD only when/);
    expect(dateProblem('soon', mdy, show)).toBe('date "soon" is not a date');
    expect(dateProblem(' ', mdy, show)).toBe('date is empty');
    expect(dateProblem('01/02/2024', decide([], 'YMD'), show)).toMatch(/options.dateFormat is "YMD"/);
  });
});
