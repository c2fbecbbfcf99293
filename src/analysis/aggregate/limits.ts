import { daysFromCivil } from '../values/calendar.ts';

/**
 * Bounds that keep one result small whatever the file holds. No real
 * revenue export reaches them; a typo or a placeholder date does, and must not turn three
 * rows into a 13 MB result.
 *
 * Date window 1990-01-01 … 2099-12-31, fixed (not relative to today, so a result never
 * depends on when it ran): revenue exports come from tools of the mid-1990s on, and what
 * lies outside is a placeholder (1900-01-00 Excel zero, 1970-01-01 Unix zero,
 * 0001-01-01 .NET MinValue, 9999-12-31 "never") or a typo (2204). Such rows are rejected
 * with a reason; the rest of the file counts.
 */
export const FIRST_DAY = daysFromCivil(1990, 1, 1);
export const LAST_DAY = daysFromCivil(2099, 12, 31);
export const DATE_WINDOW_TEXT = '1990-01-01 to 2099-12-31';

/**
 * Most months one currency's series may span (first..last, gaps included): 50 years. The
 * window alone allows 110 years, and cohorts grow with the square of the span (600 months:
 * at most 180,300 retention figures, ~1.2 MB per currency). Past it the job fails with
 * INVALID_CSV naming the earliest and latest rows.
 */
export const MAX_MONTHS = 600;

/**
 * Most currencies per file. A currency column is free text; 20 covers any real multi-
 * currency shop (Stripe's own exports rarely show 10), and rows in a 21st currency are
 * rejected with a reason instead of growing the result by a full analysis each.
 */
export const MAX_CURRENCIES = 20;
