import type { AggregateView } from '../aggregate/aggregate-view.ts';
import type { RejectedRow, RejectionCounts } from '../aggregate/rejections.ts';
import { CurrencyTotals } from '../aggregate/totals.ts';
import type { Category, Exclusion } from '../result.ts';
import { categoryResult } from '../rows/categories.ts';
import type { SpillSetup } from '../spill/spill-store.ts';
import type { DateReading } from '../values/date-order.ts';
import type { FormatDecision } from '../values/format-decision.ts';
import type { MergedFigures } from './merge-figures.ts';
import type { TableName } from './part-figures.ts';

/** One part's spilled run of one table (see KeyedTotals.takeRuns). */
export interface PartRun {
  part: number;
  currency: string | null;
  table: TableName;
  bytes: Uint8Array;
  bounds: Int32Array;
}

/**
 * The merge of a split file's parts as the result builder reads an aggregation: the merged
 * figures, plus per-key tables rebuilt from every part's runs (`adoptRun`). A table's runs are merged
 * partition by partition when the result visits it, exactly as one pass's spilled runs are.
 */
export class MergedAggregate implements AggregateView {
  readonly total: number;
  readonly valid: number;
  readonly rejected: number;
  readonly excluded: number;
  readonly samples: readonly RejectedRow[];
  readonly rejections: RejectionCounts;
  readonly dateReading: DateReading;
  readonly usesDecimalComma: boolean;
  readonly columnNames: FormatDecision['columns']['names'];
  readonly currencies = new Map<string | null, CurrencyTotals>();
  readonly firstDay: number;
  readonly firstDayLine: number;
  readonly lastDay: number;
  readonly lastDayLine: number;
  private readonly exclusions: Exclusion[];
  private readonly categoryList: Category[];
  private readonly byPartCurrency = new Map<string, CurrencyTotals>();

  /** `spill` holds the adopted runs until the result visits them. */
  constructor(merged: MergedFigures, decision: FormatDecision, spill: SpillSetup) {
    this.total = merged.total;
    this.valid = merged.valid;
    this.rejected = merged.rejected;
    this.excluded = merged.exclusions.reduce((n, e) => n + e.rows, 0);
    this.samples = merged.samples;
    this.rejections = merged.counts;
    this.dateReading = decision.reading;
    this.usesDecimalComma = decision.decimalComma;
    this.columnNames = decision.columns.names;
    this.firstDay = merged.firstDay ?? Infinity;
    this.firstDayLine = merged.firstDayLine;
    this.lastDay = merged.lastDay ?? -Infinity;
    this.lastDayLine = merged.lastDayLine;
    this.exclusions = merged.exclusions;
    this.categoryList = merged.categories.map((c) => categoryResult(c.role, c.column, c.entries));
    for (const { figures, parts } of merged.currencies) {
      const has = (name: TableName): boolean => figures.tables.includes(name);
      const t = new CurrencyTotals(
        figures.currency,
        has('customers'),
        has('products'),
        has('regions'),
        spill,
      );
      t.revenue.addBig(BigInt(figures.revenue));
      t.refunds.addBig(BigInt(figures.refunds));
      t.transactions = figures.transactions;
      t.minDay = figures.minDay;
      t.maxDay = figures.maxDay;
      for (const [month, revenue, transactions] of figures.months) {
        const m = t.monthTotals(month);
        m.revenue.addBig(BigInt(revenue));
        m.transactions += transactions;
      }
      this.currencies.set(figures.currency, t);
      for (const part of parts) this.byPartCurrency.set(runKey(part, figures.currency), t);
    }
  }

  /** One part's run joins its table (written to the merge's spill store until visited). */
  adoptRun(run: PartRun): void {
    const table = this.byPartCurrency.get(runKey(run.part, run.currency))?.[run.table];
    if (table === null || table === undefined)
      throw new Error(`part ${run.part} has a run for a table it did not count`);
    table.adoptRun(run.bytes, run.bounds);
  }

  categories(): Category[] {
    return this.categoryList;
  }

  exclusionList(): Exclusion[] {
    return this.exclusions;
  }
}

function runKey(part: number, currency: string | null): string {
  return `${part}/${JSON.stringify(currency)}`;
}
