import type { RevenueAggregator } from '../aggregate/aggregator.ts';
import type { RejectedRow, RejectionCounts } from '../aggregate/rejections.ts';
import type { CurrencyTotals } from '../aggregate/totals.ts';
import type { Exclusion, Treatment } from '../result.ts';

/** One value of a status or type column, as a part counted it. */
export interface PartCategoryEntry {
  value: string;
  rows: number;
  treatedAs: Treatment;
  reason: string | null;
}

export interface PartCategory {
  role: 'status' | 'type';
  column: string;
  /** Every value the part kept, first seen first. */
  entries: PartCategoryEntry[];
  /** The part saw more distinct values than a column keeps: which ones are kept depends on order. */
  overflowed: boolean;
}

/** The per-key tables a currency has; their contents travel as spilled runs, not here. */
export type TableName = 'customers' | 'products' | 'regions';
export const TABLE_NAMES: readonly TableName[] = ['customers', 'products', 'regions'];

export interface PartCurrency {
  currency: string | null;
  /** Exact sums in micro-units, as decimal strings (BigInt in JSON). */
  revenue: string;
  refunds: string;
  transactions: number;
  minDay: number;
  maxDay: number;
  /** [month, revenue (micro-units, decimal string), transactions]. */
  months: [number, string, number][];
  tables: TableName[];
}

/**
 * What a part learned of its bytes besides its rows: what a scan of the whole file would
 * have told the plan, told the merge instead (plan-split.ts).
 */
export interface PartBytes {
  /** csv-parse ended this part inside a quoted field: the cut after it was not a record's. */
  endedInQuote: boolean;
  /**
   * The lines the part read, as its reader numbers them (RecordReader.linesAtEnd): what one pass
   * would have counted at the part's end, so the lines before every later part.
   */
  lines: number;
  /** CRC-32 of the part's bytes (unsigned): with the others', the file's, checked against the upload's. */
  crc32: number;
  /** The encoding the part read in, once decided (given, or by its first non-ASCII bytes); null: none seen yet. */
  encoding: string | null;
}

/**
 * Everything a part of a split file counted except its per-key tables, JSON-safe (it is
 * stored as jsonb): exact integers, line numbers counted from the part's first byte (the
 * merge adds the lines before it), first-seen orders kept where a merge needs them. Days
 * are day numbers; null where the part saw no valid row.
 */
export interface PartFigures extends PartBytes {
  total: number;
  valid: number;
  rejected: number;
  counts: RejectionCounts;
  /** The part's first rejected rows (at most MAX_SAMPLES), with their lines in the part. */
  samples: RejectedRow[];
  exclusions: Exclusion[];
  exclusionsOverflowed: boolean;
  categories: PartCategory[];
  firstDay: number | null;
  firstDayLine: number;
  lastDay: number | null;
  lastDayLine: number;
  /** In first-seen order. */
  currencies: PartCurrency[];
}

function currencyFigures(t: CurrencyTotals): PartCurrency {
  const tables = TABLE_NAMES.filter((name) => t[name] !== null);
  return {
    currency: t.currency,
    revenue: t.revenue.value().toString(),
    refunds: t.refunds.value().toString(),
    transactions: t.transactions,
    minDay: t.minDay,
    maxDay: t.maxDay,
    months: [...t.months].map(([m, v]) => [m, v.revenue.value().toString(), v.transactions]),
    tables,
  };
}

/** The figures of a part's aggregator after its last record (`agg.end()` done). */
export function partFigures(agg: RevenueAggregator, bytes: PartBytes): PartFigures {
  const categories = (agg.classifier?.categoryColumns() ?? []).map((c) => ({
    role: c.role,
    column: c.column,
    entries: c
      .kept()
      .map((e) => ({ value: e.value, rows: e.rows, treatedAs: e.treatedAs, reason: e.reason })),
    overflowed: c.restRows > 0,
  }));
  const seen = agg.firstDay !== Infinity;
  return {
    total: agg.total,
    valid: agg.valid,
    rejected: agg.rejected,
    counts: { ...agg.rejections },
    samples: agg.samples.map((s) => ({ line: s.line, reason: s.reason })),
    exclusions: agg.exclusionList(),
    exclusionsOverflowed: agg.exclusions.overflowed,
    categories,
    firstDay: seen ? agg.firstDay : null,
    firstDayLine: agg.firstDayLine,
    lastDay: seen ? agg.lastDay : null,
    lastDayLine: agg.lastDayLine,
    currencies: [...agg.currencies.values()].map(currencyFigures),
    ...bytes,
  };
}
