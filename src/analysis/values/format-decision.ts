import { resolveColumns } from '../read/columns.ts';
import type { ColumnMap } from '../read/columns.ts';
import type { JobOptions } from '../options.ts';
import { DateEvidence } from './date-order.ts';
import type { DateReading } from './date-order.ts';
import { decimalEvidence } from './money.ts';

/** Records of the head the format is decided from (docs/reference.md, "Columns": the first 1,000 records). */
export const DECIDE_ROWS = 1000;

/** How every row of a file is read, decided once from its head. */
export interface FormatDecision {
  readonly columns: ColumnMap;
  readonly reading: DateReading;
  readonly decimalComma: boolean;
}

/** The cells of a record that carry its amount, under a column map. */
export function amountCellsOf(columns: ColumnMap, record: readonly string[]): string[] {
  const ix = columns.index;
  if (columns.amountFromQuantity) return [record[ix.unitPrice]!];
  if (columns.amountFromCreditDebit) return [record[ix.credit]!, record[ix.debit]!];
  return [record[ix.amount]!];
}

/**
 * v1.2, for any delimiter: every head amount holding a comma ends in a comma and exactly two
 * digits (after it, at most a currency and a closing parenthesis), and none has a point
 * after a comma: a quoted `"19,99"` in a comma-delimited export. False when no amount has a comma.
 */
export function commaDecimalsOnly(cells: Iterable<string>): boolean {
  let seen = false;
  for (const cell of cells) {
    const c = cell.indexOf(',');
    if (c < 0) continue;
    seen = true;
    if (cell.indexOf('.', c) >= 0) return false;
    if (!/,\d{2}(?:\s*[^\d\s,.()]{1,3})?\)?\s*$/u.test(cell)) return false;
  }
  return seen;
}

/**
 * The format decision: from the header and the head's records (those with the header's
 * field count), the columns (v1.2: an empty candidate passed over, a date column inferred),
 * the date reading (day/month order, `YYYYMMDD`) and the decimal separator.
 */
export function decideFormat(
  header: readonly string[],
  head: readonly (readonly string[])[],
  options: JobOptions,
  delimiter: string,
): FormatDecision {
  const columns = resolveColumns(header, options, head);
  const dates = new DateEvidence();
  for (const r of head) dates.add(r[columns.index.date]!);
  const reading = dates.decide(options.dateFormat);
  if (options.decimalSeparator !== undefined) {
    return { columns, reading, decimalComma: options.decimalSeparator === ',' };
  }
  const cells = head.flatMap((r) => amountCellsOf(columns, r));
  // The contract asks for a decimal comma in `;` files written that way; tab and `|`
  // exports from the same (European) tools get the same treatment. A `,` file keeps `.`
  // unless its quoted amounts are all written `19,99` (v1.2).
  let votes = 0;
  if (delimiter !== ',') {
    for (const cell of cells) {
      const e = decimalEvidence(cell);
      if (e === 1) votes++;
      else if (e === 2) votes--;
    }
  }
  return { columns, reading, decimalComma: votes > 0 || commaDecimalsOnly(cells) };
}
