import { TallyError } from '../errors.ts';
import { quoteList, resolveColumns } from './read/columns.ts';
import type { ColumnMap } from './read/columns.ts';
import { parseDate } from './values/dates.ts';
import { HEAD_BYTES, detectDelimiter, readRecords } from './read/dialect.ts';
import { decodeHead } from './read/encoding.ts';
import { fileError } from './read/input-error.ts';
import { parseAmount } from './values/money.ts';
import { DECIDE_ROWS } from './values/format-decision.ts';
import { isBlankRecord } from './rows/record-kinds.ts';
import { excludeColumns } from './rows/row-classifier.ts';
import type { ColumnRole, JobOptions } from './options.ts';

export interface HeadInfo {
  delimiter: string;
  header: string[];
  /** role → header name as it appears in the file. */
  columns: Partial<Record<ColumnRole, string>>;
  /** The encoding the file is read in (`input.encoding`), see encoding.ts. */
  encoding: string;
}

export interface HeadAnalysis extends HeadInfo {
  /** role → field index, for the aggregator. */
  columnMap: ColumnMap;
}

/** A header cell that reads as a date or an amount (or is empty) is data, not a name. */
function looksLikeData(cell: string): boolean {
  const t = cell.trim();
  if (t === '') return true;
  return !Number.isNaN(parseDate(t, 'MDY', true)) || !Number.isNaN(parseAmount(t, false));
}

/**
 * Checks the head of a file (first ≤ 64 KiB, already decompressed: the upload check and the
 * worker unwrap gzip before they call this) and answers the delimiter, the header, the role
 * of each recognised column and the encoding. The one head reader: the upload check, the
 * worker, and (its decode/delimiter/record steps) the page's column preview.
 * Throws TallyError INVALID_CSV with a message a person can act on.
 */
export function analyzeHead(bytes: Uint8Array, options: JobOptions): HeadAnalysis {
  const { text, encoding } = decodeHead(bytes, options.encoding);
  if (text.trim() === '') {
    throw new TallyError('INVALID_CSV', 'The file is empty: expected a header row and data rows.');
  }
  const delimiter = options.delimiter ?? detectDelimiter(text);
  const { records, lastComplete } = readRecords(text, delimiter, DECIDE_ROWS + 1);
  const header = records[0];
  if (header === undefined) {
    throw new TallyError('INVALID_CSV', 'The file has no header row.');
  }
  if (!lastComplete && records.length === 1 && bytes.length >= HEAD_BYTES) {
    throw new TallyError(
      'INVALID_CSV',
      'The first row is longer than 64 KiB; expected a header row naming the columns.',
    );
  }
  const cells = header.map((h) => h.trim());
  if (cells.every(looksLikeData)) {
    throw fileError(
      'INVALID_CSV',
      `The first row looks like data, not a header row: ${quoteList(cells, 10)}. Add a header row naming the columns (for example Date, Amount, Customer).`,
      'The first row looks like data, not a header row. Add a header row naming the columns (for example Date, Amount, Customer).',
    );
  }
  // The data records of the head (a last one cut mid-record left out) let v1.2 pass over
  // empty columns and infer a date column, as the worker will from its first 1,000 records.
  const data = records
    .slice(1, lastComplete ? undefined : -1)
    .filter((r) => r.length === header.length && !isBlankRecord(r));
  const columnMap = resolveColumns(header, options, data);
  excludeColumns(header, options); // refuses an options.exclude column the header does not have
  return { delimiter, header, columns: columnMap.names, encoding, columnMap };
}
