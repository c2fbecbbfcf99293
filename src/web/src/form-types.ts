import type { RevenueAnalysis, UploadOptions } from '../../client/index.ts';

/**
 * The types of the upload and re-run forms' choices, apart from mapping.ts and
 * exclusions.ts so that each of those can name them without importing the other.
 */

export type JobOptions = UploadOptions;
export type Delimiter = NonNullable<UploadOptions['delimiter']>;
export type DateOrder = 'YMD' | 'MDY' | 'DMY';
export type Columns = NonNullable<UploadOptions['columns']>;
export type Role = keyof Columns;

export interface Format {
  delimiter: Delimiter | '';
  decimalSeparator: '.' | ',' | '';
  dateFormat: DateOrder | '';
  encoding: string;
  currency: string;
  columns: Partial<Record<Role, string>>;
  /** IANA zone whose calendar zoned date-times count in; '' = as written in the file. */
  timeZone: string;
  /** `options.exclude`: header → values whose rows are not sales. */
  exclude: Record<string, string[]>;
  /** `options.rowRules`: the automatic rules for cancelled, status and type columns. */
  rowRules: boolean;
}

export type Category = RevenueAnalysis['input']['categories'][number];
export type Exclusion = RevenueAnalysis['rows']['exclusions'][number];
