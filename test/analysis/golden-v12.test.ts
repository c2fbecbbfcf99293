/**
 * Golden tests for the v1.2 rules of reading a file (docs/reference.md, "Reading a file"),
 * one `describe` per rule. Each fixture under test/fixtures/analysis/v12 copies the header line and value shapes of a public export
 * (Stripe balance history, a German PayPal activity download, an Etsy monthly statement,
 * a Shopify orders export, a German bank statement, an Excel "Unicode text" save, …);
 * every row is made up. Expected figures are worked out by hand in the comments. Files are
 * read in 64-byte chunks, as a worker streams a stored file. Each test spells its expected
 * rows and exclusions out in full, so that a failing fixture reads on its own: the shape
 * that repeats from test to test is data, the logic is in `figures` and `expectCurrency`.
 */
import { describe, expect, it } from 'vitest';
import type { JobOptions } from '../../src/analysis/options.ts';
import { analyzeFixtureInChunks } from '../support/analysis-fixtures.ts';

const analyze = (name: string, options: JobOptions = {}) =>
  analyzeFixtureInChunks(`v12/${name}`, options, 64);
const figures = (c: { totals: { revenue: number; refunds: number; transactions: number } }) => [
  c.totals.revenue,
  c.totals.refunds,
  c.totals.transactions,
];
type Currency = Awaited<ReturnType<typeof analyze>>['currencies'][number];
/** A currency's code and figures, then its months as [month, revenue, growthPct]. */
function expectCurrency(
  c: Currency,
  code: string,
  headline: number[],
  months: [string, number, number | null][],
) {
  expect([c.currency, ...figures(c)]).toEqual([code, ...headline]);
  expect(c.monthly.map((m) => [m.month, m.revenue, m.growthPct])).toEqual(months);
}

describe('§5.3 type words: Stripe balance history (charges, refunds, payouts, fees, adjustments, disputes)', () => {
  it('excludes payouts, fees and adjustments, counts refund types as refunds whatever their sign', async () => {
    const r = await analyze('stripe-balance-history.csv');
    expect(r.input.columns).toEqual({
      date: 'Created (UTC)',
      amount: 'Amount',
      currency: 'Currency',
      type: 'Type',
    });
    // lines 2–11: charge 100, charge 50, refund −20, payout, stripe_fee, adjustment, charge 30,
    // payment_refund written +10 (a refund: −10), payout, dispute −25 (sign kept: a refund)
    expect(r.rows).toEqual({
      total: 10,
      valid: 6,
      rejected: 0,
      excluded: 4,
      rejectedSamples: [],
      exclusions: [
        { reason: 'type: payout', rows: 2, firstLine: 5 },
        { reason: 'type: stripe_fee', rows: 1, firstLine: 6 },
        { reason: 'type: adjustment', rows: 1, firstLine: 7 },
      ],
    });
    const usd = r.currencies[0]!;
    // 100 + 50 − 20 + 30 − 10 − 25 = 125; refunds 20 + 10 + 25 = 55
    expect([usd.currency, ...figures(usd)]).toEqual(['USD', 125, 55, 6]);
    // May 100 + 50 − 20 = 130; June 30 − 10 − 25 = −5: (−5 − 130) / 130 = −1.038461 → −103.85 %
    expect(usd.monthly.map((m) => [m.month, m.revenue, m.transactions, m.growthPct])).toEqual([
      ['2024-05', 130, 3, null],
      ['2024-06', -5, 3, -103.85],
    ]);
    expect(r.input.categories).toEqual([
      {
        role: 'type',
        column: 'Type',
        values: [
          { value: 'charge', rows: 3, treatedAs: 'sale' },
          { value: 'payout', rows: 2, treatedAs: 'excluded' },
          { value: 'adjustment', rows: 1, treatedAs: 'excluded' },
          { value: 'dispute', rows: 1, treatedAs: 'sale' },
          { value: 'payment_refund', rows: 1, treatedAs: 'refund' },
          { value: 'refund', rows: 1, treatedAs: 'refund' },
          { value: 'stripe_fee', rows: 1, treatedAs: 'excluded' },
        ],
      },
    ]);
  });

  it('§5.3 rule 5: rowRules false counts every row as written', async () => {
    const r = await analyze('stripe-balance-history.csv', { rowRules: false });
    // 100 + 50 − 20 − 120 − 15 − 5 + 30 + 10 − 25 − 40 = −35; refunds 20+120+15+5+25+40 = 225
    expect(r.rows).toMatchObject({ total: 10, valid: 10, excluded: 0, exclusions: [] });
    expect(figures(r.currencies[0]!)).toEqual([-35, 225, 10]);
    expect(r.input.categories[0]!.values.every((v) => v.treatedAs === 'sale')).toBe(true);
  });

  it('§5.3 rule 1: options.exclude excludes the values named (trimmed, any case), even with rowRules false', async () => {
    const r = await analyze('stripe-balance-history.csv', {
      exclude: { type: [' CHARGE '] },
      rowRules: false,
    });
    // charges (100, 50, 30) out; the rest as written: −20 − 120 − 15 − 5 + 10 − 40 − 25 = −215
    expect(r.rows.exclusions).toEqual([
      { reason: 'excluded by options: Type = CHARGE', rows: 3, firstLine: 2 },
    ]);
    expect(figures(r.currencies[0]!)).toEqual([-215, 225, 7]);
    expect(r.input.categories[0]!.values[0]).toEqual({ value: 'charge', rows: 3, treatedAs: 'excluded' });
  });

  it('refuses options.exclude naming a column the file does not have', async () => {
    await expect(
      analyze('stripe-balance-history.csv', { exclude: { Status: ['failed'] } }),
    ).rejects.toMatchObject({
      code: 'INVALID_CSV',
    });
  });
});

describe('§5.3 status and type words in German; §5.4 quoted "19,99" in a comma file: PayPal (DE)', () => {
  it('excludes Abbuchung, Währungsumrechnung, Einbehaltung and Storniert; Rückzahlung is a refund', async () => {
    const r = await analyze('paypal-de.csv');
    expect(r.input).toMatchObject({
      delimiter: ',',
      dateFormat: 'DMY',
      columns: { date: 'Datum', amount: 'Brutto', currency: 'Währung', status: 'Status', type: 'Typ' },
    });
    expect(r.rows).toMatchObject({
      total: 8,
      valid: 4,
      rejected: 0,
      excluded: 4,
      exclusions: [
        { reason: 'type: Allgemeine Abbuchung', rows: 1, firstLine: 4 },
        { reason: 'type: Allgemeine Währungsumrechnung', rows: 1, firstLine: 5 },
        { reason: 'status: Storniert', rows: 1, firstLine: 7 },
        { reason: 'type: Einbehaltung für offene Entscheidung', rows: 1, firstLine: 8 },
      ],
    });
    // 19,99 + 45,00 − 19,99 + 1.234,50 = 1279.50 (decimal commas: every comma amount ends ",dd");
    // May 45.00; June 1234.50: (1234.50 − 45) / 45 = 26.4333 → 2643.33 %
    expectCurrency(
      r.currencies[0]!,
      'EUR',
      [1279.5, 19.99, 4],
      [
        ['2024-05', 45, null],
        ['2024-06', 1234.5, 2643.33],
      ],
    );
    expect(r.input.categories).toEqual([
      {
        role: 'status',
        column: 'Status',
        values: [
          { value: 'Abgeschlossen', rows: 7, treatedAs: 'sale' },
          { value: 'Storniert', rows: 1, treatedAs: 'excluded' },
        ],
      },
      {
        role: 'type',
        column: 'Typ',
        values: [
          { value: 'Website-Zahlung', rows: 3, treatedAs: 'sale' },
          { value: 'Allgemeine Abbuchung', rows: 1, treatedAs: 'excluded' },
          { value: 'Allgemeine Währungsumrechnung', rows: 1, treatedAs: 'excluded' },
          { value: 'Allgemeine Zahlung', rows: 1, treatedAs: 'sale' },
          { value: 'Einbehaltung für offene Entscheidung', rows: 1, treatedAs: 'excluded' },
          { value: 'Rückzahlung', rows: 1, treatedAs: 'refund' },
        ],
      },
    ]);
  });
});

describe('§5.3 fees, taxes, marketing, deposits before the amount is read: Etsy statement ("--" amounts)', () => {
  it('excludes the rows whose Amount is "--" instead of rejecting them', async () => {
    const r = await analyze('etsy-statement.csv');
    expect(r.rows).toMatchObject({
      total: 9,
      valid: 3,
      rejected: 0,
      excluded: 6,
      exclusions: [
        { reason: 'type: Fee', rows: 2, firstLine: 3 },
        { reason: 'type: Tax', rows: 1, firstLine: 4 },
        { reason: 'type: Marketing', rows: 1, firstLine: 5 },
        { reason: 'type: Deposit', rows: 1, firstLine: 7 },
        { reason: 'type: Postage Label', rows: 1, firstLine: 10 },
      ],
    });
    // €25.00 − €5.00 + €40.00 = 60; May 20, June 40: (40 − 20) / 20 → 100 %
    expectCurrency(
      r.currencies[0]!,
      'EUR',
      [60, 5, 3],
      [
        ['2024-05', 20, null],
        ['2024-06', 40, 100],
      ],
    );
  });
});

describe('§5.3 cancelled, status, refunded amount; §5.4 dates as written: Shopify orders', () => {
  it('excludes the voided and the cancelled order, nets refunded amounts out, counts 31 July in July', async () => {
    const r = await analyze('shopify-orders-v12.csv');
    expect(r.input.columns).toEqual({
      date: 'Created at',
      amount: 'Total',
      customer: 'Email',
      product: 'Lineitem name',
      region: 'Billing Country',
      currency: 'Currency',
      status: 'Financial Status',
      refunded: 'Refunded Amount',
      cancelled: 'Cancelled at',
    });
    expect(r.rows).toMatchObject({
      total: 6,
      valid: 4,
      excluded: 2,
      exclusions: [
        { reason: 'status: voided', rows: 1, firstLine: 4 },
        { reason: 'cancelled', rows: 1, firstLine: 5 },
      ],
    });
    const usd = r.currencies[0]!;
    // 100 + (80 − 30) + (25 − 25) + 70 = 220; refunds 30 + 25 = 55; four transactions
    expect(figures(usd)).toEqual([220, 55, 4]);
    expect(usd.totals.customers).toBe(4); // ann, bo, di, ed (cy voided, ann's cancelled order)
    expect(usd.monthly.map((m) => m.month)).toEqual(['2024-07']); // #2006 2024-07-31 22:30 −04:00
    // Mug 100 + 70 = 170 → 170/220 = 0.77273; Bowl 50 → 0.22727; Cup 0
    expect(usd.byProduct).toEqual([
      { key: 'Mug', revenue: 170, transactions: 2, share: 0.7727 },
      { key: 'Bowl', revenue: 50, transactions: 1, share: 0.2273 },
      { key: 'Cup', revenue: 0, transactions: 1, share: 0 },
    ]);
  });

  it('§5.4 options.timeZone converts zoned date-times: "UTC" moves #2006 to 1 August', async () => {
    const r = await analyze('shopify-orders-v12.csv', { timeZone: 'UTC' });
    expect(r.input.timeZone).toBe('UTC');
    // 2024-07-31 22:30 −04:00 = 2024-08-01 02:30 UTC
    expect(r.currencies[0]!.monthly.map((m) => [m.month, m.revenue])).toEqual([
      ['2024-07', 150],
      ['2024-08', 70],
    ]);
  });

  it('rowRules false counts the voided and cancelled orders; the refunded column still nets out', async () => {
    const r = await analyze('shopify-orders-v12.csv', { rowRules: false });
    // 220 + 60 + 40 = 320
    expect(figures(r.currencies[0]!)).toEqual([320, 55, 6]);
  });
});

describe('§5.2 credit − debit: German bank statement (Soll/Haben, ";", decimal comma)', () => {
  it('reads credit − debit, a blank side as 0, rejects a row with both blank, skips an empty line', async () => {
    const r = await analyze('bank-statement-de.csv');
    expect(r.input.columns).toEqual({ date: 'Datum', currency: 'Währung', credit: 'Haben', debit: 'Soll' });
    expect(r.rows).toEqual({
      total: 5, // the last line (";;;;;") is no record
      valid: 4,
      rejected: 1,
      excluded: 0,
      rejectedSamples: [{ line: 6, reason: 'credit and debit are both empty' }],
      exclusions: [],
    });
    // 1200.00 − 850.00 (written −850,00: a debit either way) + 300.50 − 4.90 = 645.60
    expect(figures(r.currencies[0]!)).toEqual([645.6, 854.9, 4]);
  });
});

describe('§5.1 repeated headers and all-empty lines: concatenated monthly exports', () => {
  it('excludes the repeated header lines and does not count the ",," lines', async () => {
    const r = await analyze('concatenated-monthly.csv');
    expect(r.input.columns).toEqual({ date: 'Order Date', amount: 'Order Total', customer: 'Customer' });
    expect(r.rows).toEqual({
      total: 6,
      valid: 4,
      rejected: 0,
      excluded: 2,
      rejectedSamples: [],
      exclusions: [{ reason: 'repeated header', rows: 2, firstLine: 4 }],
    });
    expect(figures(r.currencies[0]!)).toEqual([42.5, 0, 4]); // 10 + 20 + 5 + 7.50
  });
});

describe('§5.1 CR CR LF line ends: Excel "Unicode text" (UTF-16LE, tab)', () => {
  it('reads four rows and no phantom ones, numbering lines as the writer meant them', async () => {
    const r = await analyze('excel-crcrlf.txt');
    expect(r.input).toMatchObject({ delimiter: '\t', encoding: 'utf-16le' });
    expect(r.rows).toMatchObject({
      total: 4,
      valid: 3,
      rejected: 1,
      rejectedSamples: [{ line: 5, reason: 'amount "n/a" is not a number' }],
    });
    expect(r.currencies[0]!.byProduct!.map((p) => [p.key, p.revenue])).toEqual([
      ['Mug', 14.5],
      ['Bowl', 5.5],
    ]);
  });
});

describe('§5.2 an empty candidate column is passed over', () => {
  it('takes Item when SKU (earlier in the names) is empty throughout the head', async () => {
    const r = await analyze('empty-candidate.csv');
    expect(r.input.columns.product).toBe('Item');
    expect(r.currencies[0]!.byProduct!.map((p) => [p.key, p.revenue])).toEqual([
      ['Mug', 12.5],
      ['Bowl', 5],
    ]);
  });
});

describe('§5.2 date-column inference', () => {
  it('takes the one column whose non-empty head cells all read as dates', async () => {
    const r = await analyze('inferred-date.csv');
    expect(r.input.columns).toEqual({ date: 'Booked', amount: 'Amount' });
    expect(r.rows).toMatchObject({ total: 3, valid: 2, rejected: 1 }); // line 3 has no date
    expect(figures(r.currencies[0]!)).toEqual([40, 0, 2]);
  });
});

describe('§5.4 NA-like keys are no key', () => {
  it('counts NA, N/A, null, none, -, --, (blank), (none) in the totals but not as keys', async () => {
    const r = await analyze('na-keys.csv');
    const c = r.currencies[0]!;
    expect(figures(c)).toEqual([41, 0, 6]); // 10 + 20 + 5 + 1 + 2 + 3
    expect(c.topCustomers!.map((x) => x.key)).toEqual(['ann', 'Nadia']);
    expect(c.byRegion!.map((x) => x.key)).toEqual(['DE', 'NAM']);
  });
});

describe("§5.4 currency from the amount column's qualifier", () => {
  it('reads JPY from "Estimated earnings (JPY)"; options.currency still wins', async () => {
    const r = await analyze('earnings-jpy.csv');
    expect(r.input.columns.amount).toBe('Estimated earnings (JPY)');
    expect([r.currencies[0]!.currency, ...figures(r.currencies[0]!)]).toEqual(['JPY', 2300, 0, 3]);
    const usd = await analyze('earnings-jpy.csv', { currency: 'usd' });
    expect(usd.currencies[0]!.currency).toBe('USD');
  });
});
