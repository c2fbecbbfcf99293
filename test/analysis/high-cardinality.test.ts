import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSpillStore } from '../../src/analysis/spill/file-spill-store.ts';
import type { RevenueAnalysis } from '../../src/analysis/result.ts';
import { analyzeCsvStream } from '../../src/analysis/analyze-stream.ts';
import { rng } from '../support/rng.ts';

// A high-cardinality file analysed with the spill threshold lowered so the tables really
// spill (and, at threshold 8, spill again while merging a partition), compared figure by
// figure with a straightforward computation written here: BigInt cents, plain Maps, full
// sorts. Nothing below reuses Tally's analysis code.

interface Row {
  month: string;
  day: string;
  cents: bigint;
  customer: string;
  product: string;
  region: string;
  currency: string;
}

/**
 * How keys start: ASCII, Latin-1, CJK and an astral emoji (a surrogate pair), so spilled keys
 * carry code units of one and of two non-zero bytes, as read back in a merge.
 */
const NAME_STARTS = ['c', 'ç', '客', '\u{1F642}'];
const nameOf = (kind: string, n: number) => `${NAME_STARTS[n % NAME_STARTS.length]}${kind}${n}`;

/**
 * ~6,000 rows over 2019–2024 in shuffled order: ~2,400 customers (most one-time, some
 * buying across years, beyond any small month window), ~900 products, 150 regions, three
 * currencies, refunds, blank keys, and amounts from a few values so totals tie often.
 */
function makeRows(): Row[] {
  const r = rng(20261201);
  const rows: Row[] = [];
  const amounts = [1000n, 2000n, 2500n, 999n, 5000n, 12345n, -1000n, 100n];
  for (let i = 0; i < 6000; i++) {
    const y = 2019 + Math.floor(r() * 6);
    const m = 1 + Math.floor(r() * 12);
    const d = 1 + Math.floor(r() * 28);
    const month = `${y}-${String(m).padStart(2, '0')}`;
    const customer =
      r() < 0.03 ? '' : nameOf('', r() < 0.4 ? Math.floor(r() * 200) : 200 + Math.floor(r() * 2200));
    const product = r() < 0.02 ? '' : nameOf('p', Math.floor(r() * 900) + 1);
    const region = r() < 0.02 ? ' ' : `r${Math.floor(r() * 150)}`;
    const currency = r() < 0.8 ? 'USD' : r() < 0.5 ? 'EUR' : 'GBP';
    rows.push({
      month,
      day: `${month}-${String(d).padStart(2, '0')}`,
      cents: amounts[Math.floor(r() * amounts.length)]!,
      customer,
      product,
      region,
      currency,
    });
  }
  return rows;
}

function toCsv(rows: readonly Row[]): string {
  const money = (c: bigint) =>
    `${c < 0n ? '-' : ''}${(c < 0n ? -c : c) / 100n}.${String((c < 0n ? -c : c) % 100n).padStart(2, '0')}`;
  const lines = ['date,amount,customer,product,region,currency'];
  for (const x of rows)
    lines.push(`${x.day},${money(x.cents)},${x.customer},${x.product},${x.region},${x.currency}`);
  return `${lines.join('\n')}\n`;
}

/** n/d rounded half away from zero to `decimals` places, as a number. */
function round(n: bigint, d: bigint, decimals: number): number {
  if (d === 0n) return 0;
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const scale = 10n ** BigInt(decimals);
  const neg = n < 0n;
  const a = (neg ? -n : n) * scale;
  const q = (2n * a + d) / (2n * d);
  return Number(neg ? -q : q) / Number(scale);
}
const cents = (c: bigint) => round(c, 1n, 2) && Number(c) / 100;

function monthsBetween(a: string, b: string): string[] {
  const out: string[] = [];
  let [y, m] = a.split('-').map(Number) as [number, number];
  for (;;) {
    const s = `${y}-${String(m).padStart(2, '0')}`;
    out.push(s);
    if (s === b) return out;
    m++;
    if (m === 13) {
      y++;
      m = 1;
    }
  }
}

function rank(map: Map<string, { cents: bigint; tx: number }>, limit: number, net: bigint) {
  return [...map.entries()]
    .sort((a, b) => (a[1].cents === b[1].cents ? (a[0] < b[0] ? -1 : 1) : a[1].cents > b[1].cents ? -1 : 1))
    .slice(0, limit)
    .map(([key, v]) => ({ key, revenue: cents(v.cents), transactions: v.tx, share: round(v.cents, net, 4) }));
}

function expected(rows: readonly Row[]) {
  const byCurrency = new Map<string, Row[]>();
  for (const x of rows) byCurrency.set(x.currency, [...(byCurrency.get(x.currency) ?? []), x]);
  const out = [...byCurrency.entries()].map(([currency, rs]) => {
    const net = rs.reduce((s, x) => s + x.cents, 0n);
    const refunds = rs.reduce((s, x) => s + (x.cents < 0n ? -x.cents : 0n), 0n);
    const days = rs.map((x) => x.day).sort();
    const months = monthsBetween(days[0]!.slice(0, 7), days.at(-1)!.slice(0, 7));
    const sums = (key: (x: Row) => string) => {
      const m = new Map<string, { cents: bigint; tx: number }>();
      for (const x of rs) {
        const k = key(x).trim();
        if (k === '') continue;
        const v = m.get(k) ?? { cents: 0n, tx: 0 };
        v.cents += x.cents;
        v.tx++;
        m.set(k, v);
      }
      return m;
    };
    const customers = sums((x) => x.customer);
    const active = new Map<string, Set<string>>();
    for (const x of rs) {
      if (x.customer === '') continue;
      const s = active.get(x.customer) ?? new Set<string>();
      s.add(x.month);
      active.set(x.customer, s);
    }
    const firstOf = new Map([...active].map(([c, s]) => [c, [...s].sort()[0]!]));
    const monthly = months.map((month, k) => {
      const inMonth = rs.filter((x) => x.month === month);
      const revenue = inMonth.reduce((s, x) => s + x.cents, 0n);
      const prev =
        k === 0 ? null : rs.filter((x) => x.month === months[k - 1]).reduce((s, x) => s + x.cents, 0n);
      return {
        month,
        revenue: cents(revenue),
        transactions: inMonth.length,
        customers: [...active.values()].filter((s) => s.has(month)).length,
        newCustomers: [...firstOf.values()].filter((f) => f === month).length,
        growthPct:
          prev === null || prev === 0n ? null : round((revenue - prev) * 100n, prev < 0n ? -prev : prev, 2),
      };
    });
    const cohorts = months
      .map((cohort, c) => {
        const members = [...firstOf].filter(([, f]) => f === cohort).map(([id]) => id);
        if (members.length === 0) return null;
        const retention = months
          .slice(c)
          .map((m) =>
            round(BigInt(members.filter((id) => active.get(id)!.has(m)).length), BigInt(members.length), 4),
          );
        return { cohort, customers: members.length, retention };
      })
      .filter((x) => x !== null);
    const sorted = rank(customers, customers.size, net);
    const top10 = [...customers.values()]
      .map((v) => v.cents)
      .sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))
      .slice(0, 10)
      .reduce((s, v) => s + v, 0n);
    // Squares in micro-units² over net in micro-units², as the contract's shares are.
    const squares = [...customers.values()].reduce((s, v) => s + v.cents * v.cents, 0n);
    return {
      currency,
      net,
      totals: {
        revenue: cents(net),
        refunds: cents(refunds),
        transactions: rs.length,
        customers: customers.size,
        averageOrderValue: round(net, BigInt(rs.length) * 100n, 2),
        firstDate: days[0],
        lastDate: days.at(-1),
      },
      monthly,
      topCustomers: sorted.slice(0, 20),
      byProduct: rank(
        sums((x) => x.product),
        50,
        net,
      ),
      byRegion: rank(
        sums((x) => x.region),
        50,
        net,
      ),
      concentration: { top10Share: round(top10, net, 4), hhi: round(squares, net * net, 4) },
      cohorts,
    };
  });
  return out.sort((a, b) => (a.net > b.net ? -1 : 1)).map(({ net: _net, ...rest }) => rest);
}

const rows = makeRows();
const csv = toCsv(rows);
let spillRoot = '';
beforeAll(async () => {
  spillRoot = await mkdtemp(path.join(os.tmpdir(), 'tally-spill-hc-'));
});
afterAll(async () => {
  await rm(spillRoot, { recursive: true, force: true });
});

async function analyze(thresholdKeys: number | undefined) {
  const store = new FileSpillStore(spillRoot, 1024 ** 3);
  try {
    const result: RevenueAnalysis = await analyzeCsvStream(
      Readable.from([Buffer.from(csv)]),
      { filename: 'hc.csv', bytes: csv.length, options: {} },
      thresholdKeys === undefined ? {} : { spill: { store, thresholdKeys } },
    );
    return { result, spilledBytes: store.bytesWritten, liveBytes: store.liveBytes };
  } finally {
    store.close();
  }
}

describe('high-cardinality analysis with spilling', () => {
  const want = expected(rows);

  it('the file really is high-cardinality', () => {
    expect(new Set(rows.map((x) => x.customer)).size).toBeGreaterThan(1900);
    expect(new Set(rows.map((x) => x.product)).size).toBeGreaterThan(800);
  });

  const spilledResults: RevenueAnalysis[] = [];
  for (const threshold of [50, 8]) {
    it(`spills at ${threshold} keys per table and every figure matches to the cent`, async () => {
      const { result, spilledBytes, liveBytes } = await analyze(threshold);
      spilledResults.push(result);
      expect(spilledBytes).toBeGreaterThan(100_000); // it did spill: ~6k rows of keys went to disk
      expect(liveBytes).toBe(0); // every run was merged and removed
      expect(result.rows).toMatchObject({ total: 6000, valid: 6000, rejected: 0 });
      expect(result.currencies.map((c) => c.currency)).toEqual(want.map((c) => c.currency));
      for (const [i, c] of result.currencies.entries()) {
        const w = want[i]!;
        expect(c.totals).toEqual(w.totals);
        expect(c.monthly).toEqual(w.monthly);
        expect(c.topCustomers).toEqual(w.topCustomers);
        expect(c.byProduct).toEqual(w.byProduct);
        expect(c.byRegion).toEqual(w.byRegion);
        expect(c.concentration).toEqual(w.concentration);
        expect(c.cohorts).toEqual(w.cohorts);
      }
    });
  }

  it('the rankings have ties at their cut-offs (so the key tie-break is tested)', () => {
    const usd = want[0]!;
    const revenues = usd.byProduct.map((p) => p.revenue);
    expect(new Set(revenues).size).toBeLessThan(revenues.length);
  });

  it('gives the same result without spilling, and leaves no spill files', async () => {
    const inMemory = await analyze(undefined);
    expect(inMemory.spilledBytes).toBe(0);
    expect(spilledResults).toHaveLength(2);
    for (const spilled of spilledResults) expect(inMemory.result).toEqual(spilled);
    expect(await readdir(spillRoot)).toEqual([]);
  });
});
