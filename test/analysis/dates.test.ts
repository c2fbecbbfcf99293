import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  civilFromDays,
  daysFromCivil,
  decideSlashOrder,
  formatDay,
  formatMonth,
  monthOfDay,
  parseDate,
  slashEvidence,
} from '../../src/analysis/dates.ts';
import type { SlashOrder } from '../../src/analysis/dates.ts';

const day = (iso: string): number =>
  Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 864e5;

describe('parseDate', () => {
  const valid: [string, string, SlashOrder?][] = [
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
    ['2024-01-05T23:30:00-01:00', '2024-01-06'], // 00:30 UTC next day
    ['2024-01-05T23:30:00.5-0100', '2024-01-06'],
    ['2024-01-05 13:22:11 -0500', '2024-01-05'], // Shopify
    ['2024-01-31 22:30:00 -0500', '2024-02-01'], // crosses a month in UTC
    ['2024-12-31 22:30:00 -05:00', '2025-01-01'], // and a year
    ['2024-01-01T01:00:00+02:00', '2023-12-31'], // back a day
    ['2024-03-01 00:30:00 +0100', '2024-02-29'],
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
  ];
  it.each(valid)('%j → %s', (text, iso, order = 'MDY') => {
    expect(parseDate(text, order)).toBe(day(iso));
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
    '24-01-05',
    '2024-01-05T25:00:00',
    '2024-01-05T10:60',
    '2024-01-05T10:00:00+1',
    '2024-01-05T10:00:00 EST',
    '2024-01-05x',
    '2024-01-05 13:22:11 -0500 extra',
    '13/13/2024',
    '1/5/24', // two-digit years are ambiguous
    '2024.13.01',
    '45000', // an Excel serial is not a date
    '1,234.56',
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
        expect(parseDate(`${iso} 00:30:00 +0100`, 'MDY')).toBe(d - 1);
        const [y, m, dd] = civilFromDays(d);
        expect(daysFromCivil(y, m, dd)).toBe(d);
        expect(monthOfDay(d)).toBe(y * 12 + m - 1);
        expect(formatMonth(monthOfDay(d))).toBe(iso.slice(0, 7));
      }),
    );
  });
});

describe('slash order', () => {
  it.each([
    ['13/01/2024', 1],
    ['01/13/2024', 2],
    ['01/02/2024', 0],
    ['2024-01-13', 0],
    ['31.01.2024', 0],
  ] as const)('evidence of %j is %d', (text, expected) => {
    expect(slashEvidence(text)).toBe(expected);
  });

  it('is DMY only when some first part is over 12 and no second part is', () => {
    expect(decideSlashOrder(true, false)).toBe('DMY');
    expect(decideSlashOrder(false, false)).toBe('MDY');
    expect(decideSlashOrder(false, true)).toBe('MDY');
    expect(decideSlashOrder(true, true)).toBe('MDY');
  });
});
