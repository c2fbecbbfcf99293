import type { RevenueAnalysis } from '../../client/index.ts';
import { excludedByOptions, rulesWereOff } from './exclusions.ts';
import type {
  Category,
  Columns,
  DateOrder,
  Delimiter,
  Exclusion,
  Format,
  JobOptions,
  Role,
} from './form-types.ts';

export type { Category, DateOrder, Delimiter, Exclusion, Format, JobOptions, Role } from './form-types.ts';

/**
 * The column mapping and format choices of the upload and re-run forms, as the form holds
 * them ('' = let Tally detect it), and their translation to the API's `options`.
 * Pure: no React, no requests.
 */

export const ROLES: { role: Role; label: string }[] = [
  { role: 'date', label: 'Date' },
  { role: 'amount', label: 'Amount' },
  { role: 'customer', label: 'Customer' },
  { role: 'product', label: 'Product' },
  { role: 'region', label: 'Region' },
  { role: 'currency', label: 'Currency' },
  { role: 'quantity', label: 'Quantity' },
  { role: 'unitPrice', label: 'Unit price' },
  // v1.2: what decides which rows are sales (docs/reference.md, "Rows that are not sales"),
  // and amounts in two columns.
  { role: 'status', label: 'Status' },
  { role: 'type', label: 'Type' },
  { role: 'refunded', label: 'Amount refunded' },
  { role: 'cancelled', label: 'Cancelled at' },
  { role: 'credit', label: 'Credit' },
  { role: 'debit', label: 'Debit' },
];

export const DELIMITERS: { value: Delimiter; label: string }[] = [
  { value: ',', label: 'Comma ( , )' },
  { value: ';', label: 'Semicolon ( ; )' },
  { value: '\t', label: 'Tab' },
  { value: '|', label: 'Pipe ( | )' },
];

export const DATE_ORDERS: { value: DateOrder; label: string }[] = [
  { value: 'YMD', label: 'Year-month-day' },
  { value: 'MDY', label: 'Month/day/year' },
  { value: 'DMY', label: 'Day/month/year' },
];

/**
 * The encodings docs/reference.md ("Shape") names; another one the server reported is added
 * when shown.
 */
export const ENCODINGS: { value: string; label: string }[] = [
  { value: 'utf-8', label: 'UTF-8' },
  { value: 'windows-1252', label: 'Windows-1252 (Excel, Western Europe)' },
  { value: 'utf-16le', label: 'UTF-16 LE' },
  { value: 'utf-16be', label: 'UTF-16 BE' },
];

export const EMPTY_FORMAT: Format = {
  delimiter: '',
  decimalSeparator: '',
  dateFormat: '',
  encoding: '',
  currency: '',
  columns: {},
  timeZone: '',
  exclude: {},
  rowRules: true,
};

export function toOptions(format: Format): JobOptions {
  const options: JobOptions = {};
  if (format.delimiter) options.delimiter = format.delimiter;
  if (format.decimalSeparator) options.decimalSeparator = format.decimalSeparator;
  if (format.dateFormat) options.dateFormat = format.dateFormat;
  if (format.encoding) options.encoding = format.encoding;
  if (format.currency.trim()) options.currency = format.currency.trim().toUpperCase();
  const columns = Object.fromEntries(Object.entries(format.columns).filter(([, v]) => v)) as Columns;
  if (Object.keys(columns).length > 0) options.columns = columns;
  if (format.timeZone) options.timeZone = format.timeZone;
  const exclude = Object.fromEntries(
    Object.entries(format.exclude).filter(([, values]) => values.length > 0),
  );
  if (Object.keys(exclude).length > 0) options.exclude = exclude;
  if (!format.rowRules) options.rowRules = false;
  return options;
}

export function fromOptions(options: JobOptions | undefined): Format {
  if (!options) return EMPTY_FORMAT;
  return {
    delimiter: options.delimiter ?? '',
    decimalSeparator: options.decimalSeparator ?? '',
    dateFormat: options.dateFormat ?? '',
    encoding: options.encoding ?? '',
    currency: options.currency ?? '',
    columns: { ...options.columns },
    timeZone: options.timeZone ?? '',
    exclude: Object.fromEntries(Object.entries(options.exclude ?? {}).map(([k, v]) => [k, [...v]])),
    rowRules: options.rowRules ?? true,
  };
}

/**
 * How a completed job read its file: its `input`, and (v1.2) why rows were left out. The
 * fields after `columns` are optional so that older results and hand-made ones read too.
 */
export interface FileReading {
  delimiter: string;
  columns: Partial<Record<Role, string>>;
  encoding?: string;
  dateFormat?: DateOrder | null;
  timeZone?: string | null;
  categories?: Category[];
  /** From `rows`: how many rows were not sales, and why. */
  excluded?: number;
  exclusions?: Exclusion[];
}

export function readingOf(analysis: RevenueAnalysis): FileReading {
  return { ...analysis.input, excluded: analysis.rows.excluded, exclusions: analysis.rows.exclusions };
}

/**
 * The form for re-running a completed job starts from what that run used, so a re-run
 * changes only what the user changes: columns, delimiter, encoding, date order and time
 * zone as read, and the values it excluded by options (read back from their reasons).
 * jobs.rerun takes options in full, not merged, and a job's options are not reported:
 * the decimal separator and default currency come from the old job's own options when
 * this tab sent them (`previous`), otherwise they are the defaults; `rowRules` too, or else
 * it is read from how the listed status and type values were treated.
 */
export function formatFromReading(reading: FileReading, previous?: JobOptions): Format {
  const base = fromOptions(previous);
  const delimiter = DELIMITERS.some((d) => d.value === reading.delimiter)
    ? (reading.delimiter as Delimiter)
    : base.delimiter;
  return {
    ...base,
    delimiter,
    encoding: reading.encoding ?? base.encoding,
    dateFormat: reading.dateFormat ?? base.dateFormat,
    columns: { ...base.columns, ...reading.columns },
    timeZone: reading.timeZone ?? base.timeZone,
    exclude: previous?.exclude ? base.exclude : excludedByOptions(reading.exclusions ?? []),
    rowRules: previous?.rowRules ?? !rulesWereOff(reading.categories ?? []),
  };
}

export const DELIMITER_NAMES: Record<string, string> = {
  ',': 'Comma',
  ';': 'Semicolon',
  '\t': 'Tab',
  '|': 'Pipe',
};

export function describeDateOrder(order: DateOrder | null | undefined): string | undefined {
  if (order === undefined) return undefined;
  if (order === null) return 'Year first (no day/month order needed)';
  return DATE_ORDERS.find((d) => d.value === order)?.label;
}

export function describeEncoding(encoding: string | undefined): string | undefined {
  if (encoding === undefined) return undefined;
  return ENCODINGS.find((e) => e.value === encoding.toLowerCase())?.label ?? encoding;
}

/** What an upload refusal (422) was about, so the page can say it in its own words. */
export type Refusal =
  { kind: 'missing'; role: 'date' | 'amount' } | { kind: 'unknown-column'; role: Role } | { kind: 'other' };

/**
 * Reads the refusal's message. Brittle by nature, so it matches loosely ("No date column
 * found", "no column holds the date", "options.columns.date is …" / "… names a column the
 * header does not have") and falls back to `other`, where the page shows the server's
 * message as it is.
 */
export function classifyRefusal(message: string): Refusal {
  for (const role of ['date', 'amount'] as const) {
    const missing = new RegExp(
      `\\bno ${role} column|\\bno column (holds|for|looks like) (the |a |an )?${role}`,
      'i',
    );
    if (missing.test(message)) return { kind: 'missing', role };
  }
  const mapped = /options\.columns\.(\w+)/.exec(message)?.[1];
  if (mapped && ROLES.some((r) => r.role === mapped)) return { kind: 'unknown-column', role: mapped as Role };
  return { kind: 'other' };
}
