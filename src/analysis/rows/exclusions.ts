import type { Exclusion } from '../result.ts';

/**
 * Most distinct exclusion reasons tracked: a reason quotes a status or type cell, and a free-
 * text column could have a new one per row. Past this, rows are counted under one reason.
 */
export const MAX_EXCLUSION_REASONS = 100;
export const OTHER_REASONS = 'other reasons (more distinct reasons than Tally lists)';

/** Rows that are not sales (docs/reference.md, same title), per reason, with the first line of each. */
export class Exclusions {
  count = 0;
  private readonly byReason = new Map<string, { rows: number; firstLine: number }>();

  add(reason: string, line: number): void {
    this.count++;
    let entry = this.byReason.get(reason);
    if (entry === undefined) {
      // One more entry than the limit: the one that gathers the rest.
      const key = this.byReason.size >= MAX_EXCLUSION_REASONS ? OTHER_REASONS : reason;
      entry = this.byReason.get(key);
      if (entry === undefined) {
        entry = { rows: 0, firstLine: line };
        this.byReason.set(key, entry);
      }
    }
    entry.rows++;
  }

  /** Did rows go under OTHER_REASONS (which reasons got their own entry depends on row order)? */
  get overflowed(): boolean {
    return this.byReason.has(OTHER_REASONS);
  }

  /** Most rows first, then the earlier first line. */
  toResult(): Exclusion[] {
    return [...this.byReason]
      .map(([reason, e]) => ({ reason, rows: e.rows, firstLine: e.firstLine }))
      .sort((a, b) => b.rows - a.rows || a.firstLine - b.firstLine);
  }
}
