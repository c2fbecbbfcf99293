import { z } from 'zod';

/**
 * The `options` part of an upload (CONTRACT.md §5). Every field overrides a guess the
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
  })
  .strict();

export type JobOptions = z.infer<typeof jobOptionsSchema>;
