import type { RevenueAggregator } from './aggregator.ts';
import { formatDay, formatMonth, monthOfDay } from './dates.ts';
import { divRound, microToMoney, ratio } from './money.ts';
import type { DateFormat } from './options.ts';
import type { CurrencyAnalysis, Ranked, RevenueAnalysis } from './result.ts';
import type { CurrencyTotals, KeyedTotals } from './totals.ts';

export const TOP_CUSTOMERS = 20;
export const TOP_PRODUCTS = 50;
export const TOP_REGIONS = 50;

/**
 * The `limit` best ids by revenue descending, then key ascending, in one pass with a small
 * sorted array (n log k instead of sorting every customer).
 */
export function topIds(totals: KeyedTotals, limit: number): number[] {
  const best: number[] = [];
  const value: number[] = [];
  const keys = totals.keys;
  const better = (v: number, id: number, w: number, other: number): boolean =>
    v > w || (v === w && keys[id]! < keys[other]!);
  for (let id = 0; id < totals.size; id++) {
    const v = totals.approx(id);
    if (best.length === limit) {
      const worst = best.length - 1;
      if (!better(v, id, value[worst]!, best[worst]!)) continue;
      best.pop();
      value.pop();
    }
    let at = best.length;
    while (at > 0 && better(v, id, value[at - 1]!, best[at - 1]!)) at--;
    best.splice(at, 0, id);
    value.splice(at, 0, v);
  }
  return best;
}

function ranked(totals: KeyedTotals, limit: number, net: bigint): Ranked[] {
  return topIds(totals, limit).map((id) => {
    const revenue = totals.total(id);
    return {
      key: totals.keys[id]!,
      revenue: microToMoney(revenue),
      transactions: totals.transactions(id),
      share: ratio(revenue, net, 4),
    };
  });
}

/** Month-over-month change in percent, 2 decimals; null after a zero month. */
function growth(previous: bigint, current: bigint): number | null {
  if (previous === 0n) return null;
  const abs = previous < 0n ? -previous : previous;
  return Number(divRound((current - previous) * 10_000n, abs)) / 100;
}

export function analyzeCurrency(t: CurrencyTotals): CurrencyAnalysis {
  const net = t.revenue.value();
  const firstMonth = monthOfDay(t.minDay);
  const lastMonth = monthOfDay(t.maxDay);
  const span = lastMonth - firstMonth + 1;

  const customers = t.customers;
  let monthCustomers: Uint32Array | null = null;
  let newCustomers: Uint32Array | null = null;
  let cohorts: CurrencyAnalysis['cohorts'] = null;
  if (customers !== null) {
    monthCustomers = new Uint32Array(span);
    newCustomers = new Uint32Array(span);
    // active[c][k]: customers of cohort month c active k months later.
    const active: (Uint32Array | undefined)[] = [];
    for (let id = 0; id < customers.size; id++) {
      const months = customers.monthsOf(id);
      let first = months[0]!;
      for (const m of months) if (m < first) first = m;
      const c = first - firstMonth;
      newCustomers[c]!++;
      const row = (active[c] ??= new Uint32Array(span - c));
      for (const m of months) {
        monthCustomers[m - firstMonth]!++;
        row[m - first]!++;
      }
    }
    cohorts = [];
    for (let c = 0; c < span; c++) {
      const row = active[c];
      if (row === undefined) continue;
      const size = row[0]!;
      cohorts.push({
        cohort: formatMonth(firstMonth + c),
        customers: size,
        retention: Array.from(row, (n) => ratio(BigInt(n), BigInt(size), 4)),
      });
    }
  }

  const monthly: CurrencyAnalysis['monthly'] = [];
  let previous: bigint | null = null;
  for (let k = 0; k < span; k++) {
    const m = t.months.get(firstMonth + k);
    const revenue = m === undefined ? 0n : m.revenue.value();
    monthly.push({
      month: formatMonth(firstMonth + k),
      revenue: microToMoney(revenue),
      transactions: m?.transactions ?? 0,
      customers: monthCustomers === null ? null : monthCustomers[k]!,
      newCustomers: newCustomers === null ? null : newCustomers[k]!,
      growthPct: previous === null ? null : growth(previous, revenue),
    });
    previous = revenue;
  }

  let topCustomers: Ranked[] | null = null;
  let concentration: CurrencyAnalysis['concentration'] = null;
  if (customers !== null) {
    const top = topIds(customers, TOP_CUSTOMERS);
    topCustomers = top.map((id) => {
      const revenue = customers.total(id);
      return {
        key: customers.keys[id]!,
        revenue: microToMoney(revenue),
        transactions: customers.transactions(id),
        share: ratio(revenue, net, 4),
      };
    });
    let top10 = 0n;
    for (const id of top.slice(0, 10)) top10 += customers.total(id);
    // HHI as a fraction (0..1): sum of squared customer shares of net revenue. A float sum
    // is fine here: it is a ratio rounded to 4 decimals, not money.
    let hhi = 0;
    const netF = Number(net);
    if (netF !== 0) {
      for (let id = 0; id < customers.size; id++) {
        const s = customers.approx(id) / netF;
        hhi += s * s;
      }
    }
    concentration = { top10Share: ratio(top10, net, 4), hhi: Math.round(hhi * 1e4) / 1e4 };
  }

  return {
    currency: t.currency,
    totals: {
      revenue: microToMoney(net),
      refunds: microToMoney(t.refunds.value()),
      transactions: t.transactions,
      customers: customers === null ? null : customers.size,
      averageOrderValue: microToMoney(divRound(net, BigInt(t.transactions))),
      firstDate: formatDay(t.minDay),
      lastDate: formatDay(t.maxDay),
    },
    monthly,
    topCustomers,
    byProduct: t.products === null ? null : ranked(t.products, TOP_PRODUCTS, net),
    byRegion: t.regions === null ? null : ranked(t.regions, TOP_REGIONS, net),
    concentration,
    cohorts,
  };
}

export interface ResultMeta {
  filename: string;
  bytes: number;
  delimiter: string;
  columns: Record<string, string>;
  encoding: string;
  dateFormat: DateFormat | null;
}

/** Assembles the result; currencies largest net revenue first, then by code (null last). */
export function buildAnalysis(agg: RevenueAggregator, meta: ResultMeta): RevenueAnalysis {
  const all = [...agg.currencies.values()].filter((t) => t.transactions > 0);
  const nets = new Map(all.map((t) => [t, t.revenue.value()]));
  all.sort((a, b) => {
    const d = nets.get(b)! - nets.get(a)!;
    if (d !== 0n) return d > 0n ? 1 : -1;
    if (a.currency === b.currency) return 0;
    if (a.currency === null) return 1;
    if (b.currency === null) return -1;
    return a.currency < b.currency ? -1 : 1;
  });
  return {
    schemaVersion: 1,
    input: {
      filename: meta.filename,
      bytes: meta.bytes,
      delimiter: meta.delimiter,
      columns: meta.columns,
      encoding: meta.encoding,
      dateFormat: meta.dateFormat,
    },
    rows: {
      total: agg.total,
      valid: agg.valid,
      rejected: agg.rejected,
      rejectedSamples: agg.samples.slice(),
    },
    currencies: all.map(analyzeCurrency),
  };
}
