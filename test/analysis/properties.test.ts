import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RevenueAnalysis } from '../../src/analysis/result.ts';
import { analyzeCsvStream } from '../../src/analysis/analyze-stream.ts';

interface Row {
  day: number; // days since 2023-01-01
  cents: number;
  customer: string;
  product: string;
  currency: string;
  bad: boolean;
}

const rowArb: fc.Arbitrary<Row> = fc.record({
  day: fc.integer({ min: 0, max: 500 }),
  cents: fc.integer({ min: -50_000, max: 500_000 }),
  customer: fc.constantFrom('ann', 'bob', 'cy', 'dee', 'Émile, Inc.', 'multi\nline'),
  product: fc.constantFrom('A', 'B', 'C "quoted"', ''),
  currency: fc.constantFrom('USD', 'USD', 'EUR'),
  bad: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
});

const quote = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

function isoDay(day: number): string {
  return new Date(Date.UTC(2023, 0, 1 + day)).toISOString().slice(0, 10);
}

function money(cents: number): string {
  const abs = Math.abs(cents);
  return `${cents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function toCsv(rows: Row[], eol: string): string {
  let s = `date,amount,customer,product,currency${eol}`;
  for (const r of rows) {
    const date = r.bad ? 'not a date' : isoDay(r.day);
    s += [date, quote(money(r.cents)), quote(r.customer), quote(r.product), r.currency].join(',') + eol;
  }
  return s;
}

async function analyze(text: string, chunkSize = 1 << 16): Promise<RevenueAnalysis> {
  const data = Buffer.from(text);
  async function* source(): AsyncGenerator<Buffer> {
    for (let i = 0; i < data.length; i += chunkSize) {
      await Promise.resolve();
      yield data.subarray(i, i + chunkSize);
    }
  }
  return analyzeCsvStream(source(), { filename: 'p.csv', bytes: data.length, options: {} });
}

const cents = (x: number): number => Math.round(x * 100);

describe('properties', () => {
  it('totals equal the sums of the monthly figures and an independent exact sum', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { minLength: 1, maxLength: 60 }), async (rows) => {
        fc.pre(rows.some((r) => !r.bad));
        const r = await analyze(toCsv(rows, '\n'));
        const good = rows.filter((x) => !x.bad);
        expect(r.rows).toMatchObject({
          total: rows.length,
          valid: good.length,
          rejected: rows.length - good.length,
        });
        for (const c of r.currencies) {
          const mine = good.filter((x) => x.currency === c.currency);
          const sum = mine.reduce((a, x) => a + x.cents, 0);
          expect(cents(c.totals.revenue)).toBe(sum);
          expect(cents(c.totals.refunds)).toBe(mine.reduce((a, x) => a + (x.cents < 0 ? -x.cents : 0), 0));
          expect(c.monthly.reduce((a, m) => a + cents(m.revenue), 0)).toBe(sum);
          expect(c.monthly.reduce((a, m) => a + m.transactions, 0)).toBe(c.totals.transactions);
          expect(c.monthly.reduce((a, m) => a + m.newCustomers!, 0)).toBe(c.totals.customers);
          expect(c.cohorts!.reduce((a, k) => a + k.customers, 0)).toBe(c.totals.customers);
          expect(c.totals.customers).toBe(new Set(mine.map((x) => x.customer)).size);
          const byCustomer = new Map<string, number>();
          for (const x of mine) byCustomer.set(x.customer, (byCustomer.get(x.customer) ?? 0) + x.cents);
          const expectedTop = [...byCustomer]
            .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
            .map(([key, v]) => [key, v]);
          expect(c.topCustomers!.map((t) => [t.key, cents(t.revenue)])).toEqual(expectedTop);
          // every month from first to last, in order
          const months = c.monthly.map((m) => m.month);
          expect(months[0]).toBe(c.totals.firstDate.slice(0, 7));
          expect(months.at(-1)).toBe(c.totals.lastDate.slice(0, 7));
          expect(new Set(months).size).toBe(months.length);
          expect([...months].sort()).toEqual(months);
        }
        expect(r.currencies.reduce((a, c) => a + c.totals.transactions, 0)).toBe(good.length);
      }),
      { numRuns: 60 },
    );
  });

  it('shuffling rows changes nothing but the line numbers of rejected rows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(rowArb, { minLength: 1, maxLength: 40 })
          .chain((rows) =>
            fc.tuple(
              fc.constant(rows),
              fc.shuffledSubarray(rows, { minLength: rows.length, maxLength: rows.length }),
            ),
          ),
        async ([rows, shuffled]) => {
          fc.pre(rows.some((r) => !r.bad));
          const a = await analyze(toCsv(rows, '\r\n'));
          const b = await analyze(toCsv(shuffled, '\r\n'));
          expect(b.currencies).toEqual(a.currencies);
          expect({ ...b.rows, rejectedSamples: [] }).toEqual({ ...a.rows, rejectedSamples: [] });
          const reasons = (x: RevenueAnalysis) => x.rows.rejectedSamples.map((s) => s.reason).sort();
          expect(reasons(b)).toEqual(reasons(a));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('chunk boundaries change nothing, line numbers included (CRLF inside quotes)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArb, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 97 }),
        async (rows, size) => {
          fc.pre(rows.some((r) => !r.bad));
          const text = toCsv(rows, '\r\n').replaceAll('multi\nline', 'multi\r\nline');
          const whole = await analyze(text);
          const pieces = await analyze(text, size);
          expect(pieces).toEqual(whole);
          // physical line of each rejected row: 1 + lines taken by the header and rows before it
          const expected: number[] = [];
          let line = 2;
          for (const r of rows) {
            if (r.bad) expected.push(line);
            line += r.customer.includes('\n') ? 2 : 1;
          }
          expect(whole.rows.rejectedSamples.map((s) => s.line)).toEqual(expected.slice(0, 100));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('v1.2: classification never changes the figures of a file with no status, type, cancelled or refunded column', async () => {
    // Words of every §5.3 list, in a column no rule reads ("Description", "Memo"), and the
    // options that only turn rules off: the figures stay those of the file without them.
    const words = fc.constantFrom(
      'payout',
      'Stripe fee',
      'failed',
      'cancelled',
      'refund',
      'VAT',
      'Storniert',
      '',
      'n/a',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArb, { minLength: 1, maxLength: 40 }),
        fc.array(words, { minLength: 40, maxLength: 40 }),
        fc.constantFrom('Description', 'Memo', 'Note'),
        fc.boolean(),
        async (rows, extra, name, rules) => {
          fc.pre(rows.some((r) => !r.bad));
          const plain = await analyze(toCsv(rows, '\n'));
          // the same file with one more column: rows written as toCsv writes them
          let withWords = `date,amount,customer,product,currency,${name}\n`;
          rows.forEach((r, i) => {
            const date = r.bad ? 'not a date' : isoDay(r.day);
            const cells = [date, quote(money(r.cents)), quote(r.customer), quote(r.product), r.currency];
            withWords += [...cells, quote(extra[i % 40]!)].join(',') + '\n';
          });
          const data = Buffer.from(withWords);
          const classified = await analyzeCsvStream(
            (async function* () {
              await Promise.resolve();
              yield data;
            })(),
            { filename: 'p.csv', bytes: data.length, options: { rowRules: rules } },
          );
          expect(classified.rows.excluded).toBe(0);
          expect(classified.input.categories).toEqual([]);
          expect(classified.currencies).toEqual(plain.currencies);
          expect({ ...classified.rows, rejectedSamples: [] }).toEqual({ ...plain.rows, rejectedSamples: [] });
        },
      ),
      { numRuns: 40 },
    );
  });
});
