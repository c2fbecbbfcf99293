import { z } from 'zod';
import { dateFormats } from './options.ts';

/**
 * The analysis result, exactly `RevenueAnalysis` (schemaVersion 1) of docs/reference.md, "The result".
 * Money is a number rounded half away from zero to 2 decimals; shares are fractions of
 * the currency's net revenue rounded to 4 decimals; `hhi` is the sum of squared customer
 * shares as a fraction (0..1, not the 0..10,000 points scale); cohort `retention[k]` is the
 * fraction of the cohort's customers buying k months after their first month (4 decimals). `analyzeCsvStream` validates its
 * result against this schema before returning it, so a drift fails loudly in tests.
 */
const money = z.number().finite();
/** Text from the file: PostgreSQL's jsonb cannot hold U+0000 (keys.ts removes it first). */
const fileText = z.string().refine((s) => !s.includes('\u0000'), 'holds U+0000');
const count = z.number().int().nonnegative();
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const isoMonth = z.string().regex(/^\d{4}-\d{2}$/);

export const rankedSchema = z
  .object({
    key: fileText,
    revenue: money,
    transactions: count,
    share: z.number().finite(),
  })
  .strict();

export const currencyAnalysisSchema = z
  .object({
    currency: fileText.nullable(),
    totals: z
      .object({
        revenue: money,
        refunds: money,
        transactions: count,
        customers: count.nullable(),
        averageOrderValue: money,
        firstDate: isoDate,
        lastDate: isoDate,
      })
      .strict(),
    monthly: z.array(
      z
        .object({
          month: isoMonth,
          revenue: money,
          transactions: count,
          customers: count.nullable(),
          newCustomers: count.nullable(),
          growthPct: z.number().finite().nullable(),
        })
        .strict(),
    ),
    topCustomers: z.array(rankedSchema).max(20).nullable(),
    byProduct: z.array(rankedSchema).max(50).nullable(),
    byRegion: z.array(rankedSchema).max(50).nullable(),
    concentration: z
      .object({ top10Share: z.number().finite(), hhi: z.number().finite() })
      .strict()
      .nullable(),
    cohorts: z
      .array(
        z
          .object({
            cohort: isoMonth,
            customers: count,
            retention: z.array(z.number().finite()),
          })
          .strict(),
      )
      .nullable(),
  })
  .strict();

/** v1.2: how a row was treated (docs/reference.md, "Rows that are not sales"). */
export const treatments = ['sale', 'refund', 'excluded'] as const;
export type Treatment = (typeof treatments)[number];

/** v1.2: one status or type column's values, the 50 with most rows, with their treatment. */
export const categorySchema = z
  .object({
    role: z.enum(['status', 'type']),
    column: fileText,
    values: z.array(z.object({ value: fileText, rows: count, treatedAs: z.enum(treatments) }).strict()),
  })
  .strict();

export const exclusionSchema = z
  .object({ reason: fileText, rows: count, firstLine: z.number().int().positive() })
  .strict();

export const revenueAnalysisSchema = z
  .object({
    schemaVersion: z.literal(1),
    input: z
      .object({
        filename: z.string(),
        bytes: count,
        delimiter: z.string(),
        columns: z.record(z.string(), fileText),
        // v1.1. Defaults read results stored before v1.1, all of which were UTF-8.
        encoding: z.string().default('utf-8'),
        dateFormat: z.enum(dateFormats).nullable().default(null),
        // v1.2. Defaults read results stored before v1.2 (no time zone, no categories).
        timeZone: z.string().nullable().default(null),
        categories: z.array(categorySchema).default([]),
      })
      .strict(),
    rows: z
      .object({
        total: count,
        valid: count,
        rejected: count,
        /** v1.2: rows that are not sales (reference "Rows that are not sales"); total = valid + rejected + excluded. */
        excluded: count.default(0),
        rejectedSamples: z
          .array(z.object({ line: z.number().int().positive(), reason: z.string() }).strict())
          .max(100),
        /** v1.2: why rows were excluded, most rows first. */
        exclusions: z.array(exclusionSchema).default([]),
        /** What was seen and what to do, when more than half the rows were rejected. */
        advice: z.string().optional(),
      })
      .strict(),
    currencies: z.array(currencyAnalysisSchema),
  })
  .strict();

export type RevenueAnalysis = z.infer<typeof revenueAnalysisSchema>;
export type CurrencyAnalysis = z.infer<typeof currencyAnalysisSchema>;
export type Ranked = z.infer<typeof rankedSchema>;
export type Category = z.infer<typeof categorySchema>;
export type Exclusion = z.infer<typeof exclusionSchema>;
