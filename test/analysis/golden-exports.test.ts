/**
 * Golden tests for "Reading a file" (docs/reference.md): exports in the shapes real tools write (headers,
 * date and number forms, encodings and quirks learnt from public samples of the UCI Online
 * Retail data set, Kaggle's sales_data_sample, superstore samples, Etsy, Shopify, Stripe,
 * SAP SE16N, Amazon and Excel), with made-up rows. Every expected figure is worked out by
 * hand from the fixture (arithmetic in the comments), not by running the code.
 * The expected objects look alike on purpose: each is written out next to its own arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { analyzeCsvStream } from '../../src/analysis/analyze-stream.ts';
import type { JobOptions } from '../../src/analysis/options.ts';
import type { TallyError } from '../../src/errors.ts';
import { analyzeFixtureInChunks } from '../support/analysis-fixtures.ts';

/** Read in 7-byte chunks: every multi-byte character and CRLF gets cut somewhere. */
const analyzeFixture = (name: string, options: JobOptions = {}) => analyzeFixtureInChunks(name, options, 7);

describe('UCI Online Retail (CRLF, "12/1/10 8:26", quantity × UnitPrice, blank CustomerID)', () => {
  it('reads two-digit years month-first and leaves the blank customer out of the keys', async () => {
    const r = await analyzeFixture('online-retail.csv', { currency: 'GBP' });
    expect(r.input).toMatchObject({
      delimiter: ',',
      encoding: 'utf-8',
      dateFormat: 'MDY', // no first or second part over 12: month first
      columns: {
        date: 'InvoiceDate',
        quantity: 'Quantity',
        unitPrice: 'UnitPrice',
        customer: 'CustomerID',
        region: 'Country',
      },
    });
    expect(r.rows).toEqual({
      total: 7,
      valid: 7,
      rejected: 0,
      excluded: 0,
      rejectedSamples: [],
      exclusions: [],
    });
    const gbp = r.currencies[0]!;
    expect(gbp.currency).toBe('GBP');
    // 6×2.55 + 6×3.39 + 6×1.85 + 32×1.69 − 1×27.50 + 1×4.95 + 12×0.85
    //   = 15.30 + 20.34 + 11.10 + 54.08 − 27.50 + 4.95 + 10.20 = 88.47; AOV 12.6386 → 12.64
    expect(gbp.totals).toEqual({
      revenue: 88.47,
      refunds: 27.5,
      transactions: 7,
      customers: 4, // 17850, 13047, 14527, 12583; the blank CustomerID is no customer
      averageOrderValue: 12.64,
      firstDate: '2010-12-01', // 12/1/10
      lastDate: '2011-12-09', // 12/9/11
    });
    // Dec 2010 … Dec 2011: 13 months, gaps as 0
    expect(gbp.monthly).toHaveLength(13);
    expect(gbp.monthly[0]).toEqual({
      month: '2010-12',
      revenue: 73.32, // 15.30 + 20.34 + 11.10 + 54.08 − 27.50
      transactions: 5,
      customers: 3,
      newCustomers: 3,
      growthPct: null,
    });
    // Jan 2011: 10.20; (10.20 − 73.32) / 73.32 = −0.86088 → −86.09
    expect(gbp.monthly[1]).toEqual({
      month: '2011-01',
      revenue: 10.2,
      transactions: 1,
      customers: 1,
      newCustomers: 1,
      growthPct: -86.09,
    });
    // Dec 2011: the blank customer's 4.95 counts in revenue, not in customers
    expect(gbp.monthly[12]).toEqual({
      month: '2011-12',
      revenue: 4.95,
      transactions: 1,
      customers: 0,
      newCustomers: 0,
      growthPct: null,
    });
    // 13047 54.08/88.47 = 0.6113; 17850 46.74 → 0.5283; 12583 10.20 → 0.1153; 14527 −27.50 → −0.3108
    expect(gbp.topCustomers).toEqual([
      { key: '13047', revenue: 54.08, transactions: 1, share: 0.6113 },
      { key: '17850', revenue: 46.74, transactions: 3, share: 0.5283 },
      { key: '12583', revenue: 10.2, transactions: 1, share: 0.1153 },
      { key: '14527', revenue: -27.5, transactions: 1, share: -0.3108 },
    ]);
    // UK 73.32 → 0.8288; France 4.95 + 10.20 = 15.15 → 0.1712
    expect(gbp.byRegion).toEqual([
      { key: 'United Kingdom', revenue: 73.32, transactions: 5, share: 0.8288 },
      { key: 'France', revenue: 15.15, transactions: 2, share: 0.1712 },
    ]);
    // top10 83.52/88.47 = 0.9440; hhi 0.6113² + 0.5283² + 0.1153² + 0.3108² = 0.7627
    expect(gbp.concentration).toEqual({ top10Share: 0.944, hhi: 0.7627 });
    expect(gbp.cohorts!.map((c) => [c.cohort, c.customers, c.retention.length])).toEqual([
      ['2010-12', 3, 13],
      ['2011-01', 1, 12],
    ]);
  });
});

describe('Kaggle sales_data_sample (ORDERDATE "2/24/2003 0:00", capitals, Windows-1252)', () => {
  it('matches headers written together, reads the time-stamped dates month-first and decodes 1252', async () => {
    const r = await analyzeFixture('sales-data-sample.csv');
    expect(r.input).toMatchObject({
      encoding: 'windows-1252', // "é" and "è" are single bytes: not UTF-8
      dateFormat: 'MDY',
      columns: { date: 'ORDERDATE', amount: 'SALES', customer: 'CUSTOMERNAME', region: 'COUNTRY' },
    });
    expect(r.rows).toMatchObject({ total: 7, valid: 7, rejected: 0 });
    const c = r.currencies[0]!;
    // 2871 + 2765.9 + 3884.34 + 3746.7 + 5205.27 + 3479.76 + 2497.77 = 24450.74; AOV 3492.96
    expect(c.totals).toEqual({
      revenue: 24450.74,
      refunds: 0,
      transactions: 7,
      customers: 7,
      averageOrderValue: 3492.96,
      firstDate: '2003-02-24', // never anything but 24 February 2003
      lastDate: '2003-11-11',
    });
    expect(c.monthly.map((m) => m.month)).toEqual([
      '2003-02',
      '2003-03',
      '2003-04',
      '2003-05',
      '2003-06',
      '2003-07',
      '2003-08',
      '2003-09',
      '2003-10',
      '2003-11',
    ]);
    expect(c.topCustomers!.map((x) => x.key)).toContain('Frères Souveniers');
    // USA 2871 + 3746.7 + 5205.27 + 3479.76 = 15302.73 → 0.6259; France 9148.01 → 0.3741
    expect(c.byRegion).toEqual([
      { key: 'USA', revenue: 15302.73, transactions: 4, share: 0.6259 },
      { key: 'France', revenue: 9148.01, transactions: 3, share: 0.3741 },
    ]);
  });
});

describe('European superstore (";" with decimal points, DD/MM/YYYY, 3–4 decimals, BOM)', () => {
  it('keeps the decimal point, decides day-first and sums four decimals exactly', async () => {
    const r = await analyzeFixture('superstore-eu.csv');
    expect(r.input).toMatchObject({
      delimiter: ';',
      encoding: 'utf-8',
      dateFormat: 'DMY', // 18/07/2016: a first part over 12, no second part over 12
      // Customer ID before Customer Name, Region before Country in the name table
      columns: {
        date: 'Order Date',
        amount: 'Sales',
        customer: 'Customer ID',
        product: 'Product Name',
        region: 'Region',
        quantity: 'Quantity',
      },
    });
    const c = r.currencies[0]!;
    // 957.5775 + 22.368 + 1706.184 + 14.62 − 14.62 = 2686.1295 → 2686.13; AOV 537.2259 → 537.23
    expect(c.totals).toEqual({
      revenue: 2686.13,
      refunds: 14.62,
      transactions: 5,
      customers: 4,
      averageOrderValue: 537.23,
      firstDate: '2016-07-18',
      lastDate: '2016-09-02',
    });
    // Jul 957.5775 → 957.58; Aug 22.368 + 1706.184 = 1728.552 → 1728.55, growth from the exact
    // figures: 770.9745 / 957.5775 = 0.80513 → 80.51; Sep 14.62 − 14.62 = 0 → −100
    expect(c.monthly.map((m) => [m.month, m.revenue, m.growthPct])).toEqual([
      ['2016-07', 957.58, null],
      ['2016-08', 1728.55, 80.51],
      ['2016-09', 0, -100],
    ]);
    // AB-10015 979.9455 → 979.95, 0.3648; SC 1706.184 → 0.6352; MM 14.62 → 0.0054; GG −14.62
    expect(c.topCustomers).toEqual([
      { key: 'SC-20095', revenue: 1706.18, transactions: 1, share: 0.6352 },
      { key: 'AB-10015', revenue: 979.95, transactions: 2, share: 0.3648 },
      { key: 'MM-18055', revenue: 14.62, transactions: 1, share: 0.0054 },
      { key: 'GG-14650', revenue: -14.62, transactions: 1, share: -0.0054 },
    ]);
    // Central 1706.184 + 14.62 = 1720.804 → 0.6406; South 979.9455 → 0.3648; a blank region is no key
    expect(c.byRegion).toEqual([
      { key: 'Central', revenue: 1720.8, transactions: 2, share: 0.6406 },
      { key: 'South', revenue: 979.95, transactions: 2, share: 0.3648 },
    ]);
  });
});

describe('Etsy sold order items (two-digit years, lowercase currency, trailing empty column)', () => {
  it('takes Date Paid (before Sale Date in the table), Item Total and Buyer', async () => {
    const r = await analyzeFixture('etsy-sold-items.csv');
    expect(r.input).toMatchObject({
      dateFormat: 'MDY',
      columns: { date: 'Date Paid', amount: 'Item Total', customer: 'Buyer', currency: 'Currency' },
    });
    expect(r.rows).toMatchObject({ total: 4, valid: 4, rejected: 0 }); // 25 fields each, the last empty
    const usd = r.currencies[0]!;
    expect(usd.currency).toBe('USD'); // "usd"
    // 18.99 + 26.10 + 18.99 + 32.00 = 96.08; Dec 2021 45.09, Jan 2022 50.99 → (50.99 − 45.09) / 45.09 → 13.08
    expect(usd.totals).toMatchObject({
      revenue: 96.08,
      customers: 2,
      firstDate: '2021-12-31',
      lastDate: '2022-01-16',
    });
    expect(usd.monthly).toEqual([
      { month: '2021-12', revenue: 45.09, transactions: 2, customers: 2, newCustomers: 2, growthPct: null },
      { month: '2022-01', revenue: 50.99, transactions: 2, customers: 1, newCustomers: 0, growthPct: 13.08 },
    ]);
    expect(usd.topCustomers).toEqual([
      { key: 'fionab', revenue: 37.98, transactions: 2, share: 0.3953 },
      { key: 'marco_p', revenue: 26.1, transactions: 1, share: 0.2716 },
    ]);
    expect(usd.cohorts).toEqual([{ cohort: '2021-12', customers: 2, retention: [1, 0.5] }]);
  });
});

describe('Shopify orders with line items (only the first line carries the Total; bare LF in CRLF)', () => {
  it('counts each order once, rejects the extra lines with their physical line numbers', async () => {
    const r = await analyzeFixture('shopify-line-items.csv');
    expect(r.input.columns).toMatchObject({
      date: 'Created at',
      amount: 'Total',
      customer: 'Email',
      product: 'Lineitem name',
    });
    // #1001's first line spans lines 2–3 (a bare LF inside its quoted note)
    expect(r.rows).toEqual({
      total: 7,
      valid: 4,
      rejected: 3,
      excluded: 0,
      exclusions: [],
      rejectedSamples: [
        { line: 4, reason: 'amount is empty' },
        { line: 8, reason: 'amount is empty' },
        { line: 9, reason: 'amount is empty' },
      ],
    });
    const usd = r.currencies[0]!;
    // 44.50 + 9.50 − 60.00 + 81.25 = 75.25; #1002 2024-03-31 23:05 −05:00 counts in March
    // as written (v1.2; v1.1 counted it on 1 April, UTC)
    expect(usd.monthly.map((m) => [m.month, m.revenue, m.transactions, m.growthPct])).toEqual([
      ['2024-03', 54, 2, null],
      ['2024-04', 21.25, 2, -60.65], // (21.25 − 54) / 54 = −0.60648
    ]);
    expect(usd.topCustomers!.map((x) => [x.key, x.revenue, x.share])).toEqual([
      ['ann@example.com', 125.75, 1.6711],
      ['bo@example.com', 9.5, 0.1262],
      ['cy@example.com', -60, -0.7973],
    ]);
    expect(usd.byRegion!.map((x) => [x.key, x.revenue, x.share])).toEqual([
      ['US', 65.75, 0.8738],
      ['CA', 9.5, 0.1262],
    ]);
  });
});

describe('Stripe unified payments ("Created date (UTC)", lowercase currency codes)', () => {
  it('reads the qualified header and folds "eur" and "EUR" into one currency', async () => {
    const r = await analyzeFixture('stripe-unified.csv');
    expect(r.input.columns).toEqual({
      date: 'Created date (UTC)',
      amount: 'Amount',
      customer: 'Customer ID',
      currency: 'Currency',
      refunded: 'Amount Refunded',
      status: 'Status',
    });
    expect(r.input.dateFormat).toBe('YMD');
    // EUR 120.00 + 15.50 = 135.50 before USD 49 + (49 − 49 refunded) = 49 (v1.2 nets the
    // Amount Refunded column out; v1.1 counted 98)
    expect(
      r.currencies.map((c) => [c.currency, c.totals.revenue, c.totals.refunds, c.totals.customers]),
    ).toEqual([
      ['EUR', 135.5, 0, 1], // the guest row has no Customer ID: no key
      ['USD', 49, 49, 1],
    ]);
    expect(r.currencies[1]!.monthly.map((m) => m.month)).toEqual(['2024-01', '2024-02']); // 23:59:59 as written
  });
});

describe('SAP SE16N table (YYYYMMDD throughout, ";" with decimal commas, leading zeros)', () => {
  it('reads eight-digit dates when the column is written so throughout', async () => {
    const r = await analyzeFixture('sap-vbak.csv', {
      columns: { date: 'ERDAT', amount: 'NETWR', customer: 'KUNNR', currency: 'WAERK' },
    });
    expect(r.input).toMatchObject({ delimiter: ';', dateFormat: 'YMD', encoding: 'utf-8' });
    const eur = r.currencies[0]!;
    expect(eur.currency).toBe('EUR');
    // 1.234,56 + 99,90 + 2.000,00 − 10,00 = 3324.46
    expect(eur.totals).toMatchObject({
      revenue: 3324.46,
      refunds: 10,
      firstDate: '2018-01-11',
      lastDate: '2018-03-02',
    });
    // Jan 1334.46; Feb 2000 → 665.54 / 1334.46 = 0.49873 → 49.87; Mar −10 → −2010 / 2000 → −100.5
    expect(eur.monthly.map((m) => [m.month, m.revenue, m.growthPct])).toEqual([
      ['2018-01', 1334.46, null],
      ['2018-02', 2000, 49.87],
      ['2018-03', -10, -100.5],
    ]);
    expect(eur.topCustomers!.map((x) => [x.key, x.revenue])).toEqual([
      ['0000001000', 3234.56], // leading zeros kept: a key is text
      ['0000001001', 99.9],
      ['0000001002', -10],
    ]);
  });
});

describe('English month names mixed with ISO dates (Amazon "date/time", mapped)', () => {
  it('reads every month-name form with its time, and rejects a day that does not exist', async () => {
    const r = await analyzeFixture('month-names.csv', { columns: { date: 'date/time' } });
    expect(r.input).toMatchObject({
      dateFormat: 'YMD',
      columns: { date: 'date/time', amount: 'total', product: 'sku' },
    });
    expect(r.rows).toEqual({
      total: 6,
      valid: 5,
      rejected: 1,
      excluded: 0,
      exclusions: [],
      rejectedSamples: [{ line: 7, reason: 'date "Mar 32 2024" is not a date' }],
    });
    const c = r.currencies[0]!;
    // Jan 19.99 + 45.00 = 64.99; Feb −19.99 → −84.98 / 64.99 = −1.30758; Mar 59.97 + 12.50 = 72.47 → 92.46 / 19.99
    expect(c.monthly.map((m) => [m.month, m.revenue, m.growthPct])).toEqual([
      ['2024-01', 64.99, null],
      ['2024-02', -19.99, -130.76],
      ['2024-03', 72.47, 462.53],
    ]);
    expect(c.totals).toMatchObject({ revenue: 117.47, firstDate: '2024-01-05', lastDate: '2024-03-31' });
  });
});

describe('Excel "Unicode text" (UTF-16LE with a BOM, tab-separated)', () => {
  it('decodes UTF-16 in the stream, characters cut across chunks included', async () => {
    const r = await analyzeFixture('excel-unicode.txt');
    expect(r.input).toMatchObject({ delimiter: '\t', encoding: 'utf-16le', dateFormat: 'YMD' });
    expect(
      r.currencies.map((c) => [c.currency, c.totals.revenue, c.topCustomers!.map((x) => x.key)]),
    ).toEqual([
      ['JPY', 80000, ['株式会社サンプル']],
      ['EUR', 1500.5, ['Müller GmbH']], // 1200.00 + 300.50
    ]);
  });
});

describe('refusals the contract cannot settle', () => {
  it('rejects eight-digit dates in a column not written so throughout, and dates outside the window', async () => {
    const r = await analyzeFixture('mixed-date-forms.csv');
    expect(r.rows.rejectedSamples).toEqual([
      {
        line: 3,
        reason:
          'date "20180112" is eight digits, read as YYYYMMDD only when the column\'s first 1,000 dates are all written so (set options.dateFormat to "YMD" to read them)',
      },
      {
        line: 5,
        reason:
          'date "1970-01-01" is outside 1990-01-01 to 2099-12-31, the dates Tally reads (a placeholder or a typo?)',
      },
      {
        line: 6,
        reason:
          'date "9999-12-31" is outside 1990-01-01 to 2099-12-31, the dates Tally reads (a placeholder or a typo?)',
      },
      {
        line: 7,
        reason:
          'date "0224-02-01" is outside 1990-01-01 to 2099-12-31, the dates Tally reads (a placeholder or a typo?)',
      },
    ]);
    expect(r.currencies[0]!.totals.revenue).toBe(40); // 10 + 30
    // 4 of 6 rejected: the result says what was seen and what to do
    expect(r.rows.advice).toBe(
      '4 of the 6 data rows were rejected. Tally took the date column "date" and the amount column "amount". ' +
        '3 rows had a date outside 1990-01-01 to 2099-12-31. If the date column holds something else, set options.columns.date. ' +
        '1 row had a date Tally could not read (numeric dates read month first (MDY), as decided from the first 1,000 rows). ' +
        'If the dates are in another column, set options.columns.date; if they are day first (DMY), set options.dateFormat to "DMY". ' +
        'First problems: line 3: ' +
        r.rows.rejectedSamples[0]!.reason +
        '; line 5: ' +
        r.rows.rejectedSamples[1]!.reason +
        '; line 6: ' +
        r.rows.rejectedSamples[2]!.reason +
        '.',
    );
    const ymd = await analyzeFixture('mixed-date-forms.csv', { dateFormat: 'YMD' });
    expect(ymd.currencies[0]!.totals.revenue).toBe(60); // 20180112 now read
    expect(ymd.rows.rejected).toBe(3);
  });

  it('fails NO_VALID_ROWS, content-free in its summary, when every row is out of the window', async () => {
    const text = 'date,amount,customer\n0001-01-15,1,x\n9999-01-15,2,y\n9999-12-15,3,z\n';
    const error = await analyzeCsvStream(
      (async function* () {
        await Promise.resolve();
        yield Buffer.from(text);
      })(),
      { filename: 'f.csv', bytes: text.length, options: {} },
    ).then(
      () => undefined,
      (e: unknown) => e as TallyError,
    );
    expect(error?.code).toBe('NO_VALID_ROWS');
    expect((error?.details as { summary: string }).summary).toBe(
      'None of the 3 data rows could be read. 3 rows had a date outside 1990-01-01 to 2099-12-31. If the date column holds something else, set options.columns.date.',
    );
  });
});
