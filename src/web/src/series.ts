import type { CurrencyAnalysis } from '../../client/index.ts';

type Month = CurrencyAnalysis['monthly'][number];

/**
 * Bounds on what the page draws, whatever the result holds. A month series is as long as
 * the date span, not the data: one typo year (0001 or 9999) gave 120,000 months, and the
 * page drew 840k DOM nodes in 11 s. With these bounds it draws a few thousand.
 */
export const MAX_BARS = 120; // ten years of months fit a chart; more are summed per year
export const TABLE_PAGE = 60; // rows of the month and cohort tables shown per "show more"

export interface Bar {
  /** First month of the bar (YYYY-MM). */
  key: string;
  /** The month, the year, or a span of years. */
  label: string;
  revenue: number;
}

export type Grain = 'month' | 'year' | 'years';

/**
 * One bar per month up to MAX_BARS months; beyond that one bar per year; beyond MAX_BARS
 * years, spans of as many whole years as keep the bars within MAX_BARS.
 */
export function chartSeries(
  monthly: readonly Month[],
  formatMonth: (month: string) => string,
): { bars: Bar[]; grain: Grain } {
  if (monthly.length <= MAX_BARS) {
    return {
      bars: monthly.map((m) => ({ key: m.month, label: formatMonth(m.month), revenue: m.revenue })),
      grain: 'month',
    };
  }
  const yearOf = (m: Month) => Number(m.month.slice(0, 4));
  const first = yearOf(monthly[0]!);
  const years = yearOf(monthly.at(-1)!) - first + 1;
  const span = Math.ceil(years / MAX_BARS);
  const bars: Bar[] = [];
  let cents = 0;
  let current: { start: number; key: string } | undefined;
  const flush = () => {
    if (!current) return;
    const end = current.start + span - 1;
    bars.push({
      key: current.key,
      label: span === 1 ? String(current.start) : `${current.start}–${end}`,
      // Sum in cents: float drift over thousands of months would show as 0.01 errors.
      revenue: cents / 100,
    });
  };
  for (const m of monthly) {
    const start = first + Math.floor((yearOf(m) - first) / span) * span;
    if (current?.start !== start) {
      flush();
      current = { start, key: m.month };
      cents = 0;
    }
    cents += Math.round(m.revenue * 100);
  }
  flush();
  return { bars, grain: span === 1 ? 'year' : 'years' };
}
