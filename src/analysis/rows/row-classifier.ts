import { findHeader } from '../read/columns.ts';
import type { ColumnMap } from '../read/columns.ts';
import { fileError } from '../read/input-error.ts';
import type { JobOptions } from '../options.ts';
import type { Category } from '../result.ts';
import { isNaLike, withoutControls } from '../values/keys.ts';
import { CategoryColumn, reasonText } from './categories.ts';
import { TypeTreatment, statusExcludes, typeTreatment } from './word-lists.ts';

/** What a row is (reference "Rows that are not sales"): counted as written, a refund of |amount|, or excluded. */
export const AS_WRITTEN = 0;
export const REFUND = 1;
export const EXCLUDED = 2;
export type RowKind = typeof AS_WRITTEN | typeof REFUND | typeof EXCLUDED;

/** Rule 1: one `options.exclude` column, its values lower-cased and trimmed. */
interface ExcludeColumn {
  readonly index: number;
  readonly header: string;
  /** lower-cased trimmed value → the value as the option wrote it. */
  readonly values: ReadonlyMap<string, string>;
}

/** Rule 1's columns; throws INVALID_CSV (as at upload) when one names no header. */
export function excludeColumns(header: readonly string[], options: JobOptions): ExcludeColumn[] {
  return Object.entries(options.exclude ?? {}).map(([name, values]) => {
    const index = findHeader(header, name);
    if (index < 0) {
      throw fileError(
        'INVALID_CSV',
        `options.exclude names the column ${JSON.stringify(name)}, but the header has no such column.`,
        `options.exclude names a column the header does not have (the file has ${header.length} columns).`,
      );
    }
    const byKey = new Map(values.map((v) => [v.trim().toLowerCase(), v.trim()]));
    return { index, header: withoutControls(header[index]!), values: byKey };
  });
}

function ruleOne(columns: readonly ExcludeColumn[], index: number, value: string): string | null {
  for (const c of columns) {
    if (c.index !== index) continue;
    const v = c.values.get(value.toLowerCase());
    if (v !== undefined) return `excluded by options: ${c.header} = ${v}`;
  }
  return null;
}

/**
 * Classifies each record before its date or amount is read, in the contract's order:
 * `options.exclude`, a cancelled-at cell, status words, type words (`rowRules: false` turns
 * the last three off). Status and type values are judged once each and counted for
 * `input.categories`. `reason` holds why the last EXCLUDED row was excluded.
 */
export class RowClassifier {
  reason = '';
  private readonly excludes: ExcludeColumn[];
  private readonly rules: boolean;
  private readonly cancelledIdx: number;
  private readonly status: CategoryColumn | null;
  private readonly type: CategoryColumn | null;
  /** Nothing to classify: every row counts as written (v1.1 files). */
  readonly idle: boolean;

  constructor(header: readonly string[], columns: ColumnMap, options: JobOptions) {
    this.excludes = excludeColumns(header, options);
    this.rules = options.rowRules !== false;
    const ix = columns.index;
    this.cancelledIdx = this.rules ? ix.cancelled : -1;
    const name = (i: number): string => withoutControls(header[i]!);
    const excludes = this.excludes;
    const rules = this.rules;
    this.status =
      ix.status < 0
        ? null
        : new CategoryColumn('status', name(ix.status), ix.status, (value) => {
            const byOption = ruleOne(excludes, ix.status, value);
            if (byOption !== null) return { treatedAs: 'excluded', reason: byOption };
            if (rules && statusExcludes(value)) {
              return { treatedAs: 'excluded', reason: `status: ${reasonText(value)}` };
            }
            return { treatedAs: 'sale', reason: null };
          });
    this.type =
      ix.type < 0
        ? null
        : new CategoryColumn('type', name(ix.type), ix.type, (value) => {
            const byOption = ruleOne(excludes, ix.type, value);
            if (byOption !== null) return { treatedAs: 'excluded', reason: byOption };
            const t = rules ? typeTreatment(value) : TypeTreatment.Sale;
            if (t === TypeTreatment.Sale) return { treatedAs: 'sale', reason: null };
            if (t === TypeTreatment.Refund) return { treatedAs: 'refund', reason: null };
            return { treatedAs: 'excluded', reason: `type: ${reasonText(value)}` };
          });
    this.idle =
      this.excludes.length === 0 && this.cancelledIdx < 0 && this.status === null && this.type === null;
  }

  classify(record: readonly string[]): RowKind {
    const s = this.status?.entryOf(record) ?? null;
    const t = this.type?.entryOf(record) ?? null;
    for (const c of this.excludes) {
      const v = c.values.get(record[c.index]!.trim().toLowerCase());
      if (v !== undefined) return this.exclude(`excluded by options: ${c.header} = ${v}`);
    }
    if (this.cancelledIdx >= 0) {
      const cell = record[this.cancelledIdx]!.trim();
      if (cell !== '' && !isNaLike(cell)) return this.exclude('cancelled');
    }
    if (s !== null && s.reason !== null) return this.exclude(s.reason);
    if (t !== null) {
      if (t.reason !== null) return this.exclude(t.reason);
      if (t.treatedAs === 'refund') return REFUND;
    }
    return AS_WRITTEN;
  }

  private exclude(reason: string): RowKind {
    this.reason = reason;
    return EXCLUDED;
  }

  /** The status and type columns (those the file has), for a part's categories. */
  categoryColumns(): CategoryColumn[] {
    return [this.status, this.type].filter((c) => c !== null);
  }

  categories(): Category[] {
    const out: Category[] = [];
    if (this.status !== null) out.push(this.status.toResult());
    if (this.type !== null) out.push(this.type.toResult());
    return out;
  }
}
