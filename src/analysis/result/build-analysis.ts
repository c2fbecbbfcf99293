import type { AggregateView } from '../aggregate/aggregate-view.ts';
import { formatDay, formatMonth, monthOfDay } from '../values/calendar.ts';
import { divRound, microToMoney, ratio } from '../values/money-sum.ts';
import type { DateFormat } from '../options.ts';
import type { Category, CurrencyAnalysis, Ranked, RevenueAnalysis } from '../result.ts';
import { SquareSum } from '../aggregate/square-sum.ts';
import { TopKeys, type TopEntry } from '../aggregate/top-keys.ts';
import type { CurrencyTotals, CustomerTotals, KeyedTotals, Pause } from '../aggregate/totals.ts';

export const TOP_CUSTOMERS = 20;
export const TOP_PRODUCTS = 50;
export const TOP_REGIONS = 50;

const noPause: Pause = () => Promise.resolve();

function ranked(entries: readonly TopEntry[], net: bigint): Ranked[] {
  return entries.map((e) => ({
    key: e.key,
    revenue: microToMoney(e.revenue),
    transactions: e.transactions,
    share: ratio(e.revenue, net, 4),
  }));
}

async function top(totals: KeyedTotals, limit: number, net: bigint, pause: Pause): Promise<Ranked[]> {
  const best = new TopKeys(limit);
  await totals.visit((t, id) => best.offer(t, id), pause);
  return ranked(best.entries, net);
}

/** Month-over-month change in percent, 2 decimals; null after a zero month. */
function growth(previous: bigint, current: bigint): number | null {
  if (previous === 0n) return null;
  const abs = previous < 0n ? -previous : previous;
  return Number(divRound((current - previous) * 10_000n, abs)) / 100;
}

/** What the customer table gives a currency's analysis. */
interface CustomerFigures {
  count: number;
  monthCustomers: Uint32Array;
  newCustomers: Uint32Array;
  cohorts: NonNullable<CurrencyAnalysis['cohorts']>;
  topCustomers: Ranked[];
  concentration: NonNullable<CurrencyAnalysis['concentration']>;
}

function cohortsOf(
  active: readonly (Uint32Array | undefined)[],
  firstMonth: number,
): CustomerFigures['cohorts'] {
  const cohorts: CustomerFigures['cohorts'] = [];
  active.forEach((row, c) => {
    if (row === undefined) return;
    const size = row[0]!;
    cohorts.push({
      cohort: formatMonth(firstMonth + c),
      customers: size,
      retention: Array.from(row, (n) => ratio(BigInt(n), BigInt(size), 4)),
    });
  });
  return cohorts;
}

/** One visit of the customer table: top-k, the HHI's sum of squares, months, cohorts. */
async function customerFigures(
  customers: CustomerTotals,
  firstMonth: number,
  span: number,
  net: bigint,
  pause: Pause,
): Promise<CustomerFigures> {
  const monthCustomers = new Uint32Array(span);
  const newCustomers = new Uint32Array(span);
  // active[c][k]: customers of cohort month c active k months later.
  const active: (Uint32Array | undefined)[] = [];
  const best = new TopKeys(TOP_CUSTOMERS);
  const squares = new SquareSum();
  let count = 0;
  await customers.visit((table, id) => {
    count++;
    best.offer(table, id);
    squares.add(table, id);
    const months = table.monthsOf(id);
    let first = months[0]!;
    for (const m of months) if (m < first) first = m;
    const c = first - firstMonth;
    newCustomers[c]!++;
    const row = (active[c] ??= new Uint32Array(span - c));
    for (const m of months) {
      monthCustomers[m - firstMonth]!++;
      row[m - first]!++;
    }
  }, pause);
  let top10 = 0n;
  for (const e of best.entries.slice(0, 10)) top10 += e.revenue;
  // HHI as a fraction (0..1): the sum of squared customer shares of net revenue, exact.
  const hhi = net === 0n ? 0 : ratio(squares.value(), net * net, 4);
  return {
    count,
    monthCustomers,
    newCustomers,
    cohorts: cohortsOf(active, firstMonth),
    topCustomers: ranked(best.entries, net),
    concentration: { top10Share: ratio(top10, net, 4), hhi },
  };
}

/**
 * The figures of one currency. Every per-key figure is computed in one visit of each key
 * table (which, for a spilled table, is its partition-by-partition merge): top-k, the HHI's
 * sum of squares, customer counts per month, new customers and cohorts.
 */
export async function analyzeCurrency(t: CurrencyTotals, pause: Pause = noPause): Promise<CurrencyAnalysis> {
  const net = t.revenue.value();
  const firstMonth = monthOfDay(t.minDay);
  const span = monthOfDay(t.maxDay) - firstMonth + 1;
  const cf = t.customers === null ? null : await customerFigures(t.customers, firstMonth, span, net, pause);
  const monthCustomers = cf?.monthCustomers ?? null;
  const newCustomers = cf?.newCustomers ?? null;

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

  return {
    currency: t.currency,
    totals: {
      revenue: microToMoney(net),
      refunds: microToMoney(t.refunds.value()),
      transactions: t.transactions,
      customers: cf === null ? null : cf.count,
      averageOrderValue: microToMoney(divRound(net, BigInt(t.transactions))),
      firstDate: formatDay(t.minDay),
      lastDate: formatDay(t.maxDay),
    },
    monthly,
    topCustomers: cf?.topCustomers ?? null,
    byProduct: t.products === null ? null : await top(t.products, TOP_PRODUCTS, net, pause),
    byRegion: t.regions === null ? null : await top(t.regions, TOP_REGIONS, net, pause),
    concentration: cf?.concentration ?? null,
    cohorts: cf?.cohorts ?? null,
  };
}

export interface ResultMeta {
  filename: string;
  bytes: number;
  delimiter: string;
  columns: Record<string, string>;
  encoding: string;
  dateFormat: DateFormat | null;
  timeZone: string | null;
  categories: Category[];
}

/**
 * Assembles the result; currencies largest net revenue first, then by code (null last).
 * `pause` runs between partitions of spilled tables (the caller yields and checks for a
 * cancel there); spilled runs are removed as they are merged.
 */
export async function buildAnalysis(
  agg: AggregateView,
  meta: ResultMeta,
  pause: Pause = noPause,
): Promise<RevenueAnalysis> {
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
      timeZone: meta.timeZone,
      categories: meta.categories,
    },
    rows: {
      total: agg.total,
      valid: agg.valid,
      rejected: agg.rejected,
      excluded: agg.excluded,
      rejectedSamples: agg.samples.slice(),
      exclusions: agg.exclusionList(),
    },
    currencies: await analyzeAll(all, pause),
  };
}

async function analyzeAll(all: readonly CurrencyTotals[], pause: Pause): Promise<CurrencyAnalysis[]> {
  const out: CurrencyAnalysis[] = [];
  for (const t of all) out.push(await analyzeCurrency(t, pause));
  return out;
}
