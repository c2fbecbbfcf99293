import { z } from 'zod';

/**
 * The `options` part of an upload (docs/reference.md, "Options"). Every field overrides a guess the
 * analysis would otherwise make from the head of the file. Column names are the header
 * texts as they appear in the file.
 */
const columnName = z.string().min(1).max(200);

export const columnRoles = [
  'date',
  'amount',
  'customer',
  'product',
  'region',
  'currency',
  'quantity',
  'unitPrice',
  // v1.2 (docs/reference.md, "Columns" and "Rows that are not sales")
  'status',
  'type',
  'refunded',
  'cancelled',
  'credit',
  'debit',
] as const;
export type ColumnRole = (typeof columnRoles)[number];

export const dateFormats = ['YMD', 'MDY', 'DMY'] as const;
export type DateFormat = (typeof dateFormats)[number];

/**
 * The canonical name of a text encoding label ("latin1" → "windows-1252", as the WHATWG
 * Encoding Standard maps it), or null when Node's TextDecoder does not know it. The
 * "replacement" encoding decodes everything to U+FFFD, so it is no encoding for a CSV.
 */
export function canonicalEncoding(label: string): string | null {
  try {
    const name = new TextDecoder(label).encoding;
    return name === 'replacement' ? null : name;
  } catch {
    return null;
  }
}

/**
 * The canonical IANA name of a time zone ("europe/berlin" → "Europe/Berlin"), or null when
 * the runtime's ICU does not know it. Intl's own list is the authority: no zone table ships here.
 */
export function canonicalTimeZone(zone: string): string | null {
  if (zone.trim() === '') return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

export const jobOptionsSchema = z
  .object({
    columns: z
      .object({
        date: columnName,
        amount: columnName,
        customer: columnName,
        product: columnName,
        region: columnName,
        currency: columnName,
        quantity: columnName,
        unitPrice: columnName,
        status: columnName,
        type: columnName,
        refunded: columnName,
        cancelled: columnName,
        credit: columnName,
        debit: columnName,
      })
      .partial()
      .strict()
      .optional(),
    delimiter: z.enum([',', ';', '\t', '|']).optional(),
    decimalSeparator: z.enum(['.', ',']).optional(),
    dateFormat: z.enum(dateFormats).optional(),
    encoding: z
      .string()
      .max(40)
      .refine((label) => canonicalEncoding(label) !== null, {
        message:
          'encoding must be a text encoding such as "utf-8", "windows-1252", "iso-8859-2" or "utf-16le"',
      })
      .transform((label) => canonicalEncoding(label)!)
      .optional(),
    currency: z
      .string()
      .regex(/^[A-Za-z]{3}$/, 'currency must be a three-letter ISO 4217 code such as USD')
      .transform((c) => c.toUpperCase())
      .optional(),
    /** v1.2: the calendar zoned date-times are counted in (an IANA name); default: as written. */
    timeZone: z
      .string()
      .max(64)
      .refine((zone) => canonicalTimeZone(zone) !== null, {
        message: 'timeZone must be an IANA time zone name such as "Europe/Berlin" or "America/New_York"',
      })
      .transform((zone) => canonicalTimeZone(zone)!)
      .optional(),
    /** v1.2: rows whose cell in a column equals one of the values are excluded (rule 1). */
    exclude: z
      .record(columnName, z.array(z.string().max(200)).max(200))
      .refine((r) => Object.keys(r).length <= 50, 'exclude names at most 50 columns')
      .optional(),
    /** v1.2: false turns the automatic row rules (cancelled, status, type) off. */
    rowRules: z.boolean().optional(),
  })
  .strict();

export type JobOptions = z.infer<typeof jobOptionsSchema>;
