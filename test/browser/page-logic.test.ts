import { describe, expect, it } from 'vitest';
import { classifyRefusal, formatFromReading, toOptions } from '../../src/web/src/mapping.ts';
import { chartSeries, MAX_BARS } from '../../src/web/src/series.ts';

/** The page's pure logic: what a refusal asks for, what a re-run sends, what the chart draws. */
describe('classifyRefusal', () => {
  it.each([
    [
      'No date column found. Headers: "a", "b". Map one with options.columns.date.',
      { kind: 'missing', role: 'date' },
    ],
    [
      "No date column found among the file's 3 columns. Map one with options.columns.date.",
      { kind: 'missing', role: 'date' },
    ],
    [
      'No amount column found (nor quantity and unit price). Map one with options.columns.amount.',
      { kind: 'missing', role: 'amount' },
    ],
    [
      'options.columns.date is "Booked", but the header has no such column.',
      { kind: 'unknown-column', role: 'date' },
    ],
    [
      'options.columns.unitPrice names a column the header does not have (the file has 4 columns).',
      { kind: 'unknown-column', role: 'unitPrice' },
    ],
    ['The head of the file is not CSV text (binary bytes).', { kind: 'other' }],
    ['options.columns.bogus is "x"', { kind: 'other' }],
  ])('%s', (message, expected) => {
    expect(classifyRefusal(message)).toEqual(expected);
  });
});

describe('a re-run of a completed job starts from what it used', () => {
  it('sends the columns, delimiter, encoding and date order as read, plus what this tab chose before', () => {
    const format = formatFromReading(
      {
        delimiter: ';',
        columns: { date: 'Datum', amount: 'Betrag' },
        encoding: 'windows-1252',
        dateFormat: 'DMY',
      },
      { decimalSeparator: ',', currency: 'EUR', columns: { customer: 'Kunde' } },
    );
    expect(toOptions({ ...format, columns: { ...format.columns, date: 'Buchungstag' } })).toEqual({
      delimiter: ';',
      decimalSeparator: ',',
      dateFormat: 'DMY',
      encoding: 'windows-1252',
      currency: 'EUR',
      columns: { date: 'Buchungstag', amount: 'Betrag', customer: 'Kunde' },
    });
  });

  it('leaves out what the result does not report (v1.0 results: no encoding, no date order)', () => {
    expect(toOptions(formatFromReading({ delimiter: ',', columns: { date: 'd', amount: 'a' } }))).toEqual({
      delimiter: ',',
      columns: { date: 'd', amount: 'a' },
    });
  });
});

describe('chartSeries', () => {
  const months = (from: number, count: number) =>
    Array.from({ length: count }, (_, k) => {
      const year = from + Math.floor(k / 12);
      return {
        month: `${String(year).padStart(4, '0')}-${String((k % 12) + 1).padStart(2, '0')}`,
        revenue: 0.1 + k,
        transactions: 1,
        customers: null,
        newCustomers: null,
        growthPct: null,
      };
    });
  const label = (m: string) => m;

  it('draws one bar per month up to the cap', () => {
    const { bars, grain } = chartSeries(months(2020, MAX_BARS), label);
    expect(grain).toBe('month');
    expect(bars).toHaveLength(MAX_BARS);
  });

  it('sums per year beyond it, exactly to the cent', () => {
    const { bars, grain } = chartSeries(months(1980, 720), label);
    expect(grain).toBe('year');
    expect(bars).toHaveLength(60);
    expect(bars[0]).toEqual({ key: '1980-01', label: '1980', revenue: 67.2 }); // 12 × 0.1 + (0+…+11)
    expect(bars.at(-1)!.label).toBe('2039');
  });

  it('spans several years per bar when even years are too many (one typo year: 0001–9999)', () => {
    const series = months(1, 9999 * 12); // every month, as the result holds them
    const { bars, grain } = chartSeries(series, label);
    expect(grain).toBe('years');
    expect(bars.length).toBeLessThanOrEqual(MAX_BARS);
    expect(bars.reduce((sum, b) => sum + Math.round(b.revenue * 100), 0)).toBe(
      series.reduce((sum, m) => sum + Math.round(m.revenue * 100), 0),
    );
  });
});
