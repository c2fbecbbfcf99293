/**
 * Golden tests: small exports in the shapes of real ones, with every expected figure
 * worked out by hand from the fixture (arithmetic in the comments), not by running the code.
 * The expected objects look alike on purpose: each is written out next to its own arithmetic.
 */
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { JobOptions } from '../../src/analysis/options.ts';
import { analyzeFixtureInChunks, fixture } from '../support/analysis-fixtures.ts';

const analyzeFixture = (name: string, options: JobOptions = {}) => analyzeFixtureInChunks(name, options, 64);

describe('Shopify orders export', () => {
  it('uses Created at (zone → UTC day with options.timeZone "UTC"), Total, Email, Lineitem name, Billing Country', async () => {
    // v1.2 counts zoned date-times as written; timeZone "UTC" asks for v1.1's UTC calendar,
    // so the figures below are the v1.1 ones (the as-written ones: the next test).
    const r = await analyzeFixture('shopify-orders.csv', { timeZone: 'UTC' });
    expect(r.input).toEqual({
      filename: 'shopify-orders.csv',
      bytes: statSync(fixture('shopify-orders.csv')).size,
      delimiter: ',',
      // "Created at" comes before "Paid at" in the date names; "Subtotal" is no amount name.
      columns: {
        date: 'Created at',
        amount: 'Total',
        customer: 'Email',
        product: 'Lineitem name',
        region: 'Billing Country',
        currency: 'Currency',
        status: 'Financial Status',
      },
      encoding: 'utf-8',
      dateFormat: 'YMD',
      timeZone: 'UTC',
      // "paid" and "refunded" count as written (the refunded order carries −20.00 itself)
      categories: [
        {
          role: 'status',
          column: 'Financial Status',
          values: [
            { value: 'paid', rows: 4, treatedAs: 'sale' },
            { value: 'refunded', rows: 1, treatedAs: 'sale' },
          ],
        },
      ],
    });
    expect(r.rows).toEqual({
      total: 5,
      valid: 5,
      rejected: 0,
      excluded: 0,
      rejectedSamples: [],
      exclusions: [],
    });
    expect(r.currencies).toHaveLength(1);
    const usd = r.currencies[0]!;
    expect(usd.currency).toBe('USD');
    // 120.00 + 1,250.50 + 80.25 + 45.00 − 20.00 = 1475.75; AOV 1475.75 / 5 = 295.15
    // #1002 2024-01-31 22:30 −05:00 is 2024-02-01 03:30 UTC → February.
    // #1004 2024-04-02 00:30 +02:00 is 2024-04-01 22:30 UTC → still April.
    expect(usd.totals).toEqual({
      revenue: 1475.75,
      refunds: 20,
      transactions: 5,
      customers: 3,
      averageOrderValue: 295.15,
      firstDate: '2024-01-05',
      lastDate: '2024-04-10',
    });
    expect(usd.monthly).toEqual([
      // Jan: alice 120.00
      { month: '2024-01', revenue: 120, transactions: 1, customers: 1, newCustomers: 1, growthPct: null },
      // Feb: bob 1250.50 + alice 80.25 = 1330.75; (1330.75 − 120) / 120 = 10.0895833 → 1008.96 %
      {
        month: '2024-02',
        revenue: 1330.75,
        transactions: 2,
        customers: 2,
        newCustomers: 1,
        growthPct: 1008.96,
      },
      // Mar: nothing → 0, −100 %
      { month: '2024-03', revenue: 0, transactions: 0, customers: 0, newCustomers: 0, growthPct: -100 },
      // Apr: carol 45.00 − bob 20.00 = 25.00; after a zero month → null
      { month: '2024-04', revenue: 25, transactions: 2, customers: 2, newCustomers: 1, growthPct: null },
    ]);
    // bob 1250.50 − 20 = 1230.50 → 1230.50 / 1475.75 = 0.83381 → 0.8338
    // alice 120 + 80.25 = 200.25 → 0.13569 → 0.1357; carol 45 → 0.03049 → 0.0305
    expect(usd.topCustomers).toEqual([
      { key: 'bob@example.com', revenue: 1230.5, transactions: 2, share: 0.8338 },
      { key: 'alice@example.com', revenue: 200.25, transactions: 2, share: 0.1357 },
      { key: 'carol@example.com', revenue: 45, transactions: 1, share: 0.0305 },
    ]);
    expect(usd.byProduct).toEqual([
      { key: 'Teapot', revenue: 1230.5, transactions: 2, share: 0.8338 },
      { key: 'Blue Mug', revenue: 200.25, transactions: 2, share: 0.1357 },
      { key: 'Green Bowl', revenue: 45, transactions: 1, share: 0.0305 },
    ]);
    expect(usd.byRegion).toEqual([
      { key: 'CA', revenue: 1230.5, transactions: 2, share: 0.8338 },
      { key: 'US', revenue: 200.25, transactions: 2, share: 0.1357 },
      { key: 'DE', revenue: 45, transactions: 1, share: 0.0305 },
    ]);
    // hhi = 0.83381² + 0.13569² + 0.03049² = 0.69524 + 0.01841 + 0.00093 = 0.7146
    expect(usd.concentration).toEqual({ top10Share: 1, hhi: 0.7146 });
    // alice: Jan, Feb; bob: Feb, Apr; carol: Apr
    expect(usd.cohorts).toEqual([
      { cohort: '2024-01', customers: 1, retention: [1, 1, 0, 0] },
      { cohort: '2024-02', customers: 1, retention: [1, 0, 1] },
      { cohort: '2024-04', customers: 1, retention: [1] },
    ]);
  });
});

describe('Shopify orders export, dates as written (v1.2)', () => {
  it("counts #1002 (2024-01-31 22:30 −05:00) in January, the shop's own month", async () => {
    const r = await analyzeFixture('shopify-orders.csv');
    expect(r.input.timeZone).toBeNull();
    // Jan: alice 120.00 + bob 1250.50 = 1370.50; Feb: alice 80.25, (80.25 − 1370.50) / 1370.50
    // = −0.941445 → −94.14 %; Mar 0 → −100 %; Apr 45 − 20 = 25, after a zero month → null
    expect(r.currencies[0]!.monthly.map((m) => [m.month, m.revenue, m.transactions, m.growthPct])).toEqual([
      ['2024-01', 1370.5, 2, null],
      ['2024-02', 80.25, 1, -94.14],
      ['2024-03', 0, 0, -100],
      ['2024-04', 25, 2, null],
    ]);
    expect(r.currencies[0]!.totals.revenue).toBe(1475.75); // the same sum, other months
  });
});

describe('Stripe payments export', () => {
  it('splits currencies, reads "Created (UTC)" and prefers Customer ID over Customer Email', async () => {
    const r = await analyzeFixture('stripe-payments.csv');
    expect(r.input.columns).toEqual({
      date: 'Created (UTC)',
      amount: 'Amount',
      customer: 'Customer ID',
      currency: 'Currency',
      refunded: 'Amount Refunded', // all 0.00 here: nothing nets out
      status: 'Status',
    });
    expect(r.rows).toMatchObject({ total: 7, valid: 7, rejected: 0 });
    expect(r.currencies.map((c) => c.currency)).toEqual(['USD', 'EUR']); // 1050 > 20.75
    const [usd, eur] = r.currencies;
    // USD: 10 + 20 + 10 + 10 + 1000 = 1050.00 over 5 → AOV 210
    expect(usd!.totals).toEqual({
      revenue: 1050,
      refunds: 0,
      transactions: 5,
      customers: 3,
      averageOrderValue: 210,
      firstDate: '2024-03-01',
      lastDate: '2024-05-07',
    });
    expect(usd!.monthly).toEqual([
      { month: '2024-03', revenue: 30, transactions: 2, customers: 2, newCustomers: 2, growthPct: null },
      // (10 − 30) / 30 = −0.666… → −66.67
      { month: '2024-04', revenue: 10, transactions: 1, customers: 1, newCustomers: 0, growthPct: -66.67 },
      // (1010 − 10) / 10 = 100 → 10000 %
      { month: '2024-05', revenue: 1010, transactions: 2, customers: 2, newCustomers: 1, growthPct: 10000 },
    ]);
    // D 1000/1050 = 0.95238; A 30/1050 = 0.02857; B 20/1050 = 0.01905
    expect(usd!.topCustomers).toEqual([
      { key: 'cus_D', revenue: 1000, transactions: 1, share: 0.9524 },
      { key: 'cus_A', revenue: 30, transactions: 3, share: 0.0286 },
      { key: 'cus_B', revenue: 20, transactions: 1, share: 0.019 },
    ]);
    expect(usd!.byProduct).toBeNull(); // "Description" is not a product name
    expect(usd!.byRegion).toBeNull();
    // 0.95238² + 0.02857² + 0.01905² = 0.90703 + 0.00082 + 0.00036 = 0.9082
    expect(usd!.concentration).toEqual({ top10Share: 1, hhi: 0.9082 });
    // Mar cohort A, B: Apr A → 1/2, May A → 1/2
    expect(usd!.cohorts).toEqual([
      { cohort: '2024-03', customers: 2, retention: [1, 0.5, 0.5] },
      { cohort: '2024-05', customers: 1, retention: [1] },
    ]);
    // EUR: 15.50 + 5.25 = 20.75; AOV 10.375 → half up → 10.38
    expect(eur!.totals).toEqual({
      revenue: 20.75,
      refunds: 0,
      transactions: 2,
      customers: 1,
      averageOrderValue: 10.38,
      firstDate: '2024-04-20',
      lastDate: '2024-05-06',
    });
    // (5.25 − 15.50) / 15.50 = −0.66129 → −66.13
    expect(eur!.monthly.map((m) => [m.month, m.revenue, m.growthPct])).toEqual([
      ['2024-04', 15.5, null],
      ['2024-05', 5.25, -66.13],
    ]);
    expect(eur!.cohorts).toEqual([{ cohort: '2024-04', customers: 1, retention: [1, 1] }]);
  });
});

describe('European ";" export with decimal commas', () => {
  it('detects ";" and the decimal comma, reads DD.MM.YYYY, maps German headers', async () => {
    const r = await analyzeFixture('european-semicolon.csv', {
      columns: {
        date: 'Datum',
        amount: 'Betrag',
        customer: 'Kunde',
        product: 'Artikel',
        region: 'Land',
      },
      currency: 'EUR',
    });
    expect(r.input.delimiter).toBe(';');
    expect(r.rows).toMatchObject({ total: 5, valid: 5, rejected: 0 });
    const eur = r.currencies[0]!;
    expect(eur.currency).toBe('EUR');
    // 1.234,56 + 99,90 − 10,00 + 2.000,00 + 50,5 = 3374.96; AOV 674.992 → 674.99
    expect(eur.totals).toEqual({
      revenue: 3374.96,
      refunds: 10,
      transactions: 5,
      customers: 3,
      averageOrderValue: 674.99,
      firstDate: '2024-01-03',
      lastDate: '2024-03-01',
    });
    expect(eur.monthly).toEqual([
      // 1234.56 + 99.90 = 1334.46
      { month: '2024-01', revenue: 1334.46, transactions: 2, customers: 2, newCustomers: 2, growthPct: null },
      // −10.00 + 2000.00 = 1990.00; (1990 − 1334.46) / 1334.46 = 0.491240 → 49.12
      { month: '2024-02', revenue: 1990, transactions: 2, customers: 2, newCustomers: 1, growthPct: 49.12 },
      // (50.50 − 1990) / 1990 = −0.974623 → −97.46
      { month: '2024-03', revenue: 50.5, transactions: 1, customers: 1, newCustomers: 0, growthPct: -97.46 },
    ]);
    // Rossi 2000/3374.96 = 0.59260; Müller 1224.56/3374.96 = 0.36284; Dupont 150.40/… = 0.04456
    expect(eur.topCustomers).toEqual([
      { key: 'Rossi Srl', revenue: 2000, transactions: 1, share: 0.5926 },
      { key: 'Müller GmbH', revenue: 1224.56, transactions: 2, share: 0.3628 },
      { key: 'Dupont SA', revenue: 150.4, transactions: 2, share: 0.0446 },
    ]);
    // Kaffee 1234.56 + 2000 + 50.50 = 3285.06 → 0.97336; Tee 99.90 − 10 = 89.90 → 0.02664
    expect(eur.byProduct).toEqual([
      { key: 'Kaffee', revenue: 3285.06, transactions: 3, share: 0.9734 },
      { key: 'Tee', revenue: 89.9, transactions: 2, share: 0.0266 },
    ]);
    expect(eur.byRegion!.map((x) => x.key)).toEqual(['IT', 'DE', 'FR']);
    // 0.59260² + 0.36284² + 0.04456² = 0.35117 + 0.13165 + 0.00199 = 0.4848
    expect(eur.concentration).toEqual({ top10Share: 1, hhi: 0.4848 });
    expect(eur.cohorts).toEqual([
      { cohort: '2024-01', customers: 2, retention: [1, 0.5, 0.5] },
      { cohort: '2024-02', customers: 1, retention: [1, 0] },
    ]);
  });
});

describe('tab-separated ERP export', () => {
  it('computes quantity × unit price exactly and decides DD/MM/YYYY from the head', async () => {
    const r = await analyzeFixture('erp-export.tsv');
    expect(r.input.delimiter).toBe('\t');
    expect(r.input.columns).toEqual({
      date: 'Invoice Date',
      customer: 'Client',
      product: 'Item',
      region: 'Territory',
      currency: 'Currency Code',
      quantity: 'Qty',
      unitPrice: 'Unit Price',
    });
    const gbp = r.currencies[0]!;
    expect(gbp.currency).toBe('GBP');
    // 10×0.35 + 3×1.333 + 100×0.35 + 2.5×4.10 − 1×1.333
    //   = 3.50 + 3.999 + 35.00 + 10.25 − 1.333 = 51.416 → 51.42; AOV 10.2832 → 10.28
    expect(gbp.totals).toEqual({
      revenue: 51.42,
      refunds: 1.33,
      transactions: 5,
      customers: 3,
      averageOrderValue: 10.28,
      firstDate: '2024-01-05', // "13/01/2024" proves day-first, so 05/01 is 5 January
      lastDate: '2024-03-01',
    });
    expect(gbp.monthly).toEqual([
      // 3.50 + 3.999 = 7.499 → 7.50
      { month: '2024-01', revenue: 7.5, transactions: 2, customers: 2, newCustomers: 2, growthPct: null },
      // 45.25; growth from the exact 7.499, not the rounded 7.50: 37.751 / 7.499 = 5.034138 → 503.41
      { month: '2024-02', revenue: 45.25, transactions: 2, customers: 2, newCustomers: 1, growthPct: 503.41 },
      // −1.333; (−1.333 − 45.25) / 45.25 = −1.029459 → −102.95
      {
        month: '2024-03',
        revenue: -1.33,
        transactions: 1,
        customers: 1,
        newCustomers: 0,
        growthPct: -102.95,
      },
    ]);
    // ACME 38.50/51.416 = 0.74879; Initech 10.25/51.416 = 0.19935; Globex 2.666/51.416 = 0.05185
    expect(gbp.topCustomers).toEqual([
      { key: 'ACME', revenue: 38.5, transactions: 2, share: 0.7488 },
      { key: 'Initech', revenue: 10.25, transactions: 1, share: 0.1994 },
      { key: 'Globex', revenue: 2.67, transactions: 2, share: 0.0519 },
    ]);
    expect(gbp.byProduct!.map((x) => [x.key, x.revenue])).toEqual([
      ['Bolt', 38.5],
      ['Washer', 10.25],
      ['Nut', 2.67],
    ]);
    expect(gbp.byRegion!.map((x) => x.key)).toEqual(['North', 'East', 'South']);
    // 0.74879² + 0.19935² + 0.05185² = 0.56069 + 0.03974 + 0.00269 = 0.6031
    expect(gbp.concentration).toEqual({ top10Share: 1, hhi: 0.6031 });
  });

  it('reads the same slash dates month-first when told so', async () => {
    // MDY makes "13/01/2024" invalid (month 13), and 05/01 → 1 May, 02/02 → 2 Feb,
    // 10/02 → 2 Oct, 01/03 → 3 Jan.
    const r = await analyzeFixture('erp-export.tsv', { dateFormat: 'MDY' });
    expect(r.rows.rejected).toBe(1);
    expect(r.rows.rejectedSamples).toEqual([
      {
        line: 3,
        reason:
          'date "13/01/2024" is not a date month first (MDY), as options.dateFormat says; set options.dateFormat to "DMY" if the file is day first (DMY)',
      },
    ]);
    expect(r.input.dateFormat).toBe('MDY');
    expect(r.currencies[0]!.totals.firstDate).toBe('2024-01-03');
    expect(r.currencies[0]!.totals.lastDate).toBe('2024-10-02');
  });
});

describe('bad rows, embedded newlines, CRLF, BOM and blank lines', () => {
  it('rejects with physical line numbers and keeps going', async () => {
    const r = await analyzeFixture('bad-rows-crlf.csv');
    // 9 data records (blank line 5 not counted): 5 valid, 4 rejected. Physical lines:
    //  2 alice 10.00 | 3–4 bob 20.00 | 6 bad date | 7 bad amount | 8 three fields
    //  9 frank 7.50 | 10–12 alice −2.50 | 13–14 bad amount | 15 blank customer 1.00
    expect(r.rows).toEqual({
      total: 9,
      valid: 5,
      rejected: 4,
      excluded: 0,
      exclusions: [],
      rejectedSamples: [
        { line: 6, reason: 'date "2024-13-01" is not a date' },
        { line: 7, reason: 'amount "12,x" is not a number' },
        { line: 8, reason: 'expected 4 fields as in the header, found 3' },
        { line: 13, reason: 'amount "abc" is not a number' },
      ],
    });
    expect(r.input.columns).toEqual({ date: 'date', customer: 'customer', amount: 'amount' });
    const c = r.currencies[0]!;
    expect(c.currency).toBeNull();
    // 10 + 20 + 7.50 − 2.50 + 1.00 = 36.00 over 5 → 7.20; the blank customer is no customer
    expect(c.totals).toEqual({
      revenue: 36,
      refunds: 2.5,
      transactions: 5,
      customers: 3,
      averageOrderValue: 7.2,
      firstDate: '2024-01-10',
      lastDate: '2024-02-03',
    });
    // Jan 10 + 20 + 7.5 = 37.50; Feb −2.50 + 1.00 = −1.50; (−1.5 − 37.5) / 37.5 = −1.04
    expect(c.monthly).toEqual([
      { month: '2024-01', revenue: 37.5, transactions: 3, customers: 3, newCustomers: 3, growthPct: null },
      { month: '2024-02', revenue: -1.5, transactions: 2, customers: 1, newCustomers: 0, growthPct: -104 },
    ]);
    // alice 10 − 2.5 = 7.50 ties frank 7.50: key ascending breaks the tie.
    // 20/36 = 0.55556; 7.5/36 = 0.20833
    expect(c.topCustomers).toEqual([
      { key: 'bob', revenue: 20, transactions: 1, share: 0.5556 },
      { key: 'alice', revenue: 7.5, transactions: 2, share: 0.2083 },
      { key: 'frank', revenue: 7.5, transactions: 1, share: 0.2083 },
    ]);
    // top10 = 35/36 = 0.97222; hhi = 0.55556² + 2 × 0.20833² = 0.30864 + 0.08681 = 0.3954
    expect(c.concentration).toEqual({ top10Share: 0.9722, hhi: 0.3954 });
    expect(c.cohorts).toEqual([{ cohort: '2024-01', customers: 3, retention: [1, 0.3333] }]);
    expect(c.byProduct).toBeNull();
    expect(c.byRegion).toBeNull();
  });
});

describe('gzip upload', () => {
  it('is detected by its magic bytes and gives the same analysis as the plain file', async () => {
    const gz = await analyzeFixture('small-pipe.csv.gz');
    const plain = await analyzeFixture('small-pipe.csv');
    expect(readFileSync(fixture('small-pipe.csv.gz')).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(gz.input.bytes).toBe(statSync(fixture('small-pipe.csv.gz')).size);
    expect({ ...gz, input: { ...gz.input, filename: '', bytes: 0 } }).toEqual({
      ...plain,
      input: { ...plain.input, filename: '', bytes: 0 },
    });
    expect(gz.input.delimiter).toBe('|');
    // "$" alone does not say which dollar: currency null. 1.10 + 2.20 = 3.30 in June,
    // 3.30 in July → growth 0 %.
    const c = gz.currencies[0]!;
    expect(c.currency).toBeNull();
    expect(c.totals.revenue).toBe(6.6);
    expect(c.monthly.map((m) => [m.month, m.revenue, m.customers, m.growthPct])).toEqual([
      ['2024-06', 3.3, 2, null],
      ['2024-07', 3.3, 1, 0],
    ]);
  });
});
