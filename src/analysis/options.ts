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
    dateFormat: z.enum(['YMD', 'MDY', 'DMY']).optional(),
    currency: z
      .string()
      .regex(/^[A-Za-z]{3}$/, 'currency must be a three-letter ISO 4217 code such as USD')
      .transform((c) => c.toUpperCase())
      .optional(),
  })
  .strict();

export type JobOptions = z.infer<typeof jobOptionsSchema>;
