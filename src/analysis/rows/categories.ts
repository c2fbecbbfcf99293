import type { Category, Treatment } from '../result.ts';
import { withoutControls } from '../values/keys.ts';

/** Values listed per status/type column in `input.categories` (reference "Rows that are not sales"). */
export const TOP_CATEGORY_VALUES = 50;
/**
 * Distinct values remembered per column. A status or type column has a handful; a free-
 * text one could have one per row, so past this many, rows of new values are classified
 * afresh (not cached) and counted apart: memory stays flat, the top 50 stay exact unless
 * a value first seen after the 1,000th distinct one would have made the list.
 */
export const MAX_CATEGORY_VALUES = 1000;

/** One distinct value of a status or type column: its rows and what it does to a row. */
export interface CategoryEntry {
  readonly value: string;
  rows: number;
  /** The value's own treatment under rules 1, 3 and 4 (rule 1 for this column only). */
  readonly treatedAs: Treatment;
  /** Why its rows are excluded (`status: Failed`), null when they are not. */
  readonly reason: string | null;
}

/** A cell in a reason: trimmed, control characters removed, cut at 60 characters. */
export function reasonText(cell: string): string {
  const t = withoutControls(cell).trim();
  return t.length > 60 ? `${t.slice(0, 57)}...` : t;
}

/** The distinct values of one status or type column, counted, each classified once. */
export class CategoryColumn {
  private readonly entries = new Map<string, CategoryEntry>();
  private lastCell: string | null = null;
  private lastEntry: CategoryEntry | null = null;
  /** Rows whose value came after MAX_CATEGORY_VALUES distinct ones. */
  restRows = 0;

  constructor(
    readonly role: 'status' | 'type',
    readonly column: string,
    readonly index: number,
    private readonly judge: (value: string) => { treatedAs: Treatment; reason: string | null },
  ) {}

  /** The entry of this row's cell, its row counted. */
  entryOf(record: readonly string[]): CategoryEntry {
    const cell = record[this.index]!;
    if (cell === this.lastCell) {
      const last = this.lastEntry!;
      last.rows++;
      return last;
    }
    const value = cell.trim();
    let entry = this.entries.get(value);
    if (entry === undefined) {
      entry = { value, rows: 0, ...this.judge(value) };
      if (this.entries.size < MAX_CATEGORY_VALUES) this.entries.set(value, entry);
      else {
        this.restRows++;
        return entry;
      }
    }
    entry.rows++;
    this.lastCell = cell;
    this.lastEntry = entry;
    return entry;
  }

  /** Every value kept, in first-seen order (a part's categories, merged by the parallel path). */
  kept(): readonly CategoryEntry[] {
    return [...this.entries.values()];
  }

  toResult(): Category {
    return categoryResult(this.role, this.column, this.entries.values());
  }
}

/** The result's view of a column's values: most rows first, then by value, the top 50. */
export function categoryResult(
  role: 'status' | 'type',
  column: string,
  entries: Iterable<CategoryEntry>,
): Category {
  const values = [...entries]
    .filter((e) => e.rows > 0)
    .sort((a, b) => b.rows - a.rows || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    .slice(0, TOP_CATEGORY_VALUES)
    .map((e) => ({ value: withoutControls(e.value), rows: e.rows, treatedAs: e.treatedAs }));
  return { role, column, values };
}
