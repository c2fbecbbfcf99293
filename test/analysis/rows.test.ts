/**
 * The word matching of "Rows that are not sales" (docs/reference.md) and the bounded parts of classification, on their own; the
 * golden files (golden-v12.test.ts) show the rules on whole exports.
 */
import { describe, expect, it } from 'vitest';
import { analyzeCsvStream } from '../../src/analysis/analyze-stream.ts';
import type { JobOptions } from '../../src/analysis/options.ts';
import { jobOptionsSchema } from '../../src/analysis/options.ts';
import { MAX_CATEGORY_VALUES, TOP_CATEGORY_VALUES } from '../../src/analysis/rows/categories.ts';
import { MAX_EXCLUSION_REASONS, OTHER_REASONS } from '../../src/analysis/rows/exclusions.ts';
import { TypeTreatment, statusExcludes, typeTreatment } from '../../src/analysis/rows/word-lists.ts';
import { MAX_KEY_BYTES } from '../../src/analysis/aggregate/key-budget.ts';
import { ZoneCalendar } from '../../src/analysis/values/zone-calendar.ts';
import { daysFromCivil, formatDay } from '../../src/analysis/values/calendar.ts';
import { parseDate, zoneUtcMinutes } from '../../src/analysis/values/dates.ts';

async function run(text: string, options: JobOptions = {}) {
  const data = Buffer.from(text);
  async function* source(): AsyncGenerator<Buffer> {
    for (let i = 0; i < data.length; i += 4096) {
      await Promise.resolve();
      yield data.subarray(i, i + 4096);
    }
  }
  return analyzeCsvStream(source(), { filename: 't.csv', bytes: data.length, options });
}

describe('word matching (§5.3)', () => {
  it.each([
    ['payout', TypeTreatment.Transfer],
    ['Payouts', TypeTreatment.Transfer], // "payout" has 6 letters: contained
    ['Bank Deposit', TypeTreatment.Transfer],
    ['Allgemeine Währungsumrechnung', TypeTreatment.Transfer], // contains "umrechnung"
    ['Überweisung', TypeTreatment.Transfer], // lower-cased umlaut
    ['hold', TypeTreatment.Transfer],
    ['household goods', TypeTreatment.Sale], // "hold" (4 letters) only equal
    ['stripe_fee', TypeTreatment.Fee], // "_" cuts words
    ['coffee', TypeTreatment.Sale], // "fee" (3 letters) not contained
    ['VAT: processing fee', TypeTreatment.Fee],
    ['Comisión', TypeTreatment.Fee],
    ['authorization', TypeTreatment.NoMoney],
    ['Adjustments', TypeTreatment.NoMoney],
    ['payment_refund', TypeTreatment.Refund],
    ['Chargeback', TypeTreatment.Refund],
    ['Remboursement', TypeTreatment.Refund],
    ['refund_failure', TypeTreatment.Refund],
    ['payout_failure', TypeTreatment.Transfer], // the first list wins
    ['dispute', TypeTreatment.Sale],
    ['', TypeTreatment.Sale],
  ])('type %j → %i', (cell, want) => {
    expect(typeTreatment(cell)).toBe(want);
  });

  it.each([
    ['failed', true],
    ['Payment Failed', true],
    ['cancelled', true],
    ['Cancellation requested', true], // contains "cancel" (6 letters)
    ['Annulée', true],
    ['STORNIERT', true],
    ['voided', true],
    ['paid', false],
    ['refunded', false],
    ['partially_refunded', false],
    ['pending', false],
    ['on hold', false],
    ['Abgeschlossen', false],
  ])('status %j excluded: %s', (cell, want) => {
    expect(statusExcludes(cell)).toBe(want);
  });
});

describe('options (§5.6)', () => {
  it('accepts IANA zones in any case and refuses others', () => {
    expect(jobOptionsSchema.parse({ timeZone: 'europe/berlin' }).timeZone).toBe('Europe/Berlin');
    expect(jobOptionsSchema.safeParse({ timeZone: 'Mars/Olympus' }).success).toBe(false);
    expect(jobOptionsSchema.safeParse({ timeZone: '' }).success).toBe(false);
    expect(jobOptionsSchema.parse({ exclude: { Type: ['payout'] }, rowRules: false })).toEqual({
      exclude: { Type: ['payout'] },
      rowRules: false,
    });
  });
});

describe('zoned date-times (§5.4)', () => {
  const dayIn = (zone: string, text: string): string => {
    const day = parseDate(text, 'MDY');
    return formatDay(new ZoneCalendar(zone).dayOf(day, zoneUtcMinutes));
  };
  it('converts to the zone asked for, across daylight-saving changes', () => {
    expect(dayIn('America/New_York', '2024-07-01 01:30:00 +0200')).toBe('2024-06-30'); // 23:30Z → 19:30 EDT
    expect(dayIn('Asia/Tokyo', '2024-06-30 22:00:00 -0400')).toBe('2024-07-01'); // 02:00Z → 11:00 JST
    expect(dayIn('Europe/Berlin', '2024-10-27T22:30:00Z')).toBe('2024-10-27'); // 23:30 CET (after DST)
    expect(dayIn('Europe/Berlin', '2024-10-26T22:30:00Z')).toBe('2024-10-27'); // 00:30 CEST
    expect(dayIn('Asia/Kolkata', '2024-01-31T18:30:00Z')).toBe('2024-02-01'); // +05:30
    expect(daysFromCivil(2024, 6, 30)).toBe(parseDate('2024-06-30 22:00:00 -0400', 'MDY')); // as written
  });

  it('leaves dates without a zone as written when a time zone is given', async () => {
    const r = await run('Date,Amount\n2024-06-30 23:00,1\n2024-06-30 23:00Z,2\n', { timeZone: 'Asia/Tokyo' });
    expect(r.currencies[0]!.monthly.map((m) => [m.month, m.revenue])).toEqual([
      ['2024-06', 1],
      ['2024-07', 2],
    ]);
  });
});

describe('bounded memory of classification', () => {
  it(`lists the ${TOP_CATEGORY_VALUES} values with most rows and remembers at most ${MAX_CATEGORY_VALUES}`, async () => {
    let csv = 'Date,Type,Amount\n';
    // value v<i> appears (i % 7) + 1 times; 1,500 distinct values
    for (let i = 0; i < 1500; i++) for (let k = 0; k <= i % 7; k++) csv += `2024-01-01,v${i},1\n`;
    const r = await run(csv);
    const values = r.input.categories[0]!.values;
    expect(values).toHaveLength(TOP_CATEGORY_VALUES);
    expect(values.every((v) => v.rows === 7)).toBe(true);
    // Ties by value ascending, among the first 1,000 distinct values remembered: "v104" is
    // the smallest text with 7 rows below v1000 (v1000, v1006, … came after the bound).
    expect(values[0]!.value).toBe('v104');
  });

  it(`keeps at most ${MAX_EXCLUSION_REASONS} reasons; the rest are counted under one`, async () => {
    let csv = 'Date,Status,Amount\n';
    for (let i = 0; i < MAX_EXCLUSION_REASONS + 5; i++) csv += `2024-01-01,failed ${i},1\n`;
    csv += '2024-01-02,paid,3\n';
    const r = await run(csv);
    expect(r.rows.excluded).toBe(MAX_EXCLUSION_REASONS + 5);
    expect(r.rows.exclusions).toHaveLength(MAX_EXCLUSION_REASONS + 1);
    expect(r.rows.exclusions[0]).toEqual({
      reason: OTHER_REASONS,
      rows: 5,
      firstLine: MAX_EXCLUSION_REASONS + 2,
    });
    expect(r.rows.total).toBe(r.rows.valid + r.rows.rejected + r.rows.excluded);
  });

  it('fails NO_VALID_ROWS naming the exclusions when every row was excluded', async () => {
    await expect(run('Date,Type,Amount\n2024-01-01,payout,-5\n')).rejects.toMatchObject({
      code: 'NO_VALID_ROWS',
      message: expect.stringContaining('type: payout (1)'),
    });
  });
});

describe('key length', () => {
  it(`rejects a row whose key is over ${MAX_KEY_BYTES} bytes, never cutting it`, async () => {
    const long = 'é'.repeat(MAX_KEY_BYTES / 2 + 1); // 2 bytes each in UTF-8
    const fits = 'x'.repeat(MAX_KEY_BYTES);
    const r = await run(`Date,Customer,Amount\n2024-01-01,${long},5\n2024-01-01,${fits},7\n`);
    expect(r.rows.rejectedSamples).toEqual([
      {
        line: 2,
        reason: `customer is longer than ${MAX_KEY_BYTES} bytes, the longest key Tally reads (a whole text pasted into one cell?)`,
      },
    ]);
    expect(r.currencies[0]!.totals).toMatchObject({ revenue: 7, customers: 1 });
  });
});
