import { MAX_SAMPLES } from '../aggregate/rejections.ts';
import type { RejectionCounts } from '../aggregate/rejections.ts';
import { MAX_CURRENCIES } from '../aggregate/limits.ts';
import { MAX_EXCLUSION_REASONS } from '../rows/exclusions.ts';
import { MAX_CATEGORY_VALUES } from '../rows/categories.ts';
import type { Exclusion } from '../result.ts';
import type {
  PartBytes,
  PartCategory,
  PartCategoryEntry,
  PartCurrency,
  PartFigures,
} from './part-figures.ts';

/** The figures of a whole file merged from its parts (pure: no I/O). */
export interface MergedFigures extends Omit<
  PartFigures,
  'currencies' | 'exclusionsOverflowed' | keyof PartBytes
> {
  /** Per currency, in the file's first-seen order, and which parts had it (for their tables). */
  currencies: { figures: PartCurrency; parts: number[] }[];
  /** The file's encoding as one pass decides it (the first part's that decided); null: none decided. */
  encoding: string | null;
}

/**
 * Why no exact merge exists, or null. Each is a bound whose kept entries depend on the order
 * rows came in (the first 100 exclusion reasons, the first 1,000 values of a column, the
 * first 20 currencies): past it, a part cannot know what the whole file would have kept,
 * and the job is analysed in one piece instead. So are the parts of a file a split cannot
 * follow: a part ending inside a quote (a cut not on a record), parts that decided
 * different encodings.
 */
export type Inexact = string;

function sumCounts(a: RejectionCounts, b: RejectionCounts): RejectionCounts {
  const out = { ...a };
  for (const k of Object.keys(b) as (keyof RejectionCounts)[]) out[k] += b[k];
  return out;
}

function mergeExclusions(parts: readonly PartFigures[]): Exclusion[] | Inexact {
  const byReason = new Map<string, Exclusion>();
  for (const p of parts) {
    if (p.exclusionsOverflowed) return 'a part saw more distinct exclusion reasons than are listed';
    for (const e of p.exclusions) {
      const had = byReason.get(e.reason);
      if (had === undefined) byReason.set(e.reason, { ...e });
      else {
        had.rows += e.rows;
        had.firstLine = Math.min(had.firstLine, e.firstLine);
      }
    }
  }
  if (byReason.size > MAX_EXCLUSION_REASONS) return 'more distinct exclusion reasons than are listed';
  // As Exclusions.toResult: most rows first, then the earlier first line.
  return [...byReason.values()].sort((a, b) => b.rows - a.rows || a.firstLine - b.firstLine);
}

function mergeCategories(parts: readonly PartFigures[]): PartCategory[] | Inexact {
  const out: PartCategory[] = (parts[0]?.categories ?? []).map((c) => ({ ...c, entries: [] }));
  const maps = out.map(() => new Map<string, PartCategoryEntry>());
  for (const p of parts) {
    for (const [i, c] of p.categories.entries()) {
      if (c.overflowed) return `a part saw more than ${MAX_CATEGORY_VALUES} values of the ${c.role} column`;
      const map = maps[i]!;
      for (const e of c.entries) {
        const had = map.get(e.value);
        if (had === undefined) map.set(e.value, { ...e });
        else had.rows += e.rows;
      }
    }
  }
  for (const [i, map] of maps.entries()) {
    if (map.size > MAX_CATEGORY_VALUES) return `more than ${MAX_CATEGORY_VALUES} values of a category column`;
    out[i]!.entries = [...map.values()];
  }
  return out;
}

function mergeCurrencies(parts: readonly PartFigures[]): MergedFigures['currencies'] | Inexact {
  const byCode = new Map<
    string | null,
    { figures: PartCurrency; parts: number[]; months: Map<number, [bigint, number]> }
  >();
  for (const [index, p] of parts.entries()) {
    if (p.counts.currency > 0) return 'a part rejected rows for too many currencies';
    for (const c of p.currencies) {
      let m = byCode.get(c.currency);
      if (m === undefined) {
        m = {
          figures: { ...c, revenue: '0', refunds: '0', transactions: 0, months: [] },
          parts: [],
          months: new Map(),
        };
        byCode.set(c.currency, m);
      }
      const f = m.figures;
      f.revenue = (BigInt(f.revenue) + BigInt(c.revenue)).toString();
      f.refunds = (BigInt(f.refunds) + BigInt(c.refunds)).toString();
      f.transactions += c.transactions;
      f.minDay = Math.min(f.minDay, c.minDay);
      f.maxDay = Math.max(f.maxDay, c.maxDay);
      for (const [month, revenue, transactions] of c.months) {
        const had = m.months.get(month) ?? [0n, 0];
        m.months.set(month, [had[0] + BigInt(revenue), had[1] + transactions]);
      }
      m.parts.push(index);
    }
  }
  if (byCode.size > MAX_CURRENCIES) return `more than ${MAX_CURRENCIES} currencies`;
  return [...byCode.values()].map(({ figures, parts: which, months }) => ({
    figures: { ...figures, months: [...months].map(([m, [r, t]]) => [m, r.toString(), t]) },
    parts: which,
  }));
}

/** `p` with its line numbers moved from the part's to the file's (`by` lines before it). */
function inFileLines(p: PartFigures, by: number): PartFigures {
  if (by === 0) return p;
  return {
    ...p,
    samples: p.samples.map((s) => ({ ...s, line: s.line + by })),
    exclusions: p.exclusions.map((e) => ({ ...e, firstLine: e.firstLine + by })),
    firstDayLine: p.firstDay === null ? p.firstDayLine : p.firstDayLine + by,
    lastDayLine: p.lastDay === null ? p.lastDayLine : p.lastDayLine + by,
  };
}

/**
 * The file's encoding: the first part's that decided one, as one pass decides at the file's
 * first non-ASCII bytes (every part before it read only ASCII, alike in both). A later part
 * that decided another read its bytes otherwise than one pass would.
 */
function mergeEncoding(parts: readonly PartFigures[]): { decided: string | null } | Inexact {
  const decided = parts.find((p) => p.encoding !== null)?.encoding ?? null;
  if (parts.some((p) => p.encoding !== null && p.encoding !== decided))
    return 'the parts read different encodings';
  return { decided };
}

/**
 * Merges the figures of a file's parts, in file order, into what one pass over the whole
 * file counts: line numbers move by the lines of the parts before, sums add, first lines
 * and days take the earliest (ties: the earlier part, as one pass keeps the first row
 * reaching a new extreme), rejected samples are the first MAX_SAMPLES in file order.
 * Returns a string when no exact merge exists (see Inexact).
 */
export function mergeFigures(inParts: readonly PartFigures[]): MergedFigures | Inexact {
  const last = inParts.length - 1;
  if (inParts.some((p, i) => p.endedInQuote && i < last)) return 'a cut fell inside a quoted field';
  const encoding = mergeEncoding(inParts);
  if (typeof encoding === 'string') return encoding;
  let linesBefore = 0;
  const parts = inParts.map((p) => {
    const moved = inFileLines(p, linesBefore);
    linesBefore += p.lines;
    return moved;
  });
  const exclusions = mergeExclusions(parts);
  if (typeof exclusions === 'string') return exclusions;
  const categories = mergeCategories(parts);
  if (typeof categories === 'string') return categories;
  const currencies = mergeCurrencies(parts);
  if (typeof currencies === 'string') return currencies;
  const merged: MergedFigures = {
    total: 0,
    valid: 0,
    rejected: 0,
    counts: { ...parts[0]!.counts },
    samples: [],
    exclusions,
    categories,
    firstDay: null,
    firstDayLine: 0,
    lastDay: null,
    lastDayLine: 0,
    currencies,
    encoding: encoding.decided,
  };
  for (const [i, p] of parts.entries()) {
    merged.total += p.total;
    merged.valid += p.valid;
    merged.rejected += p.rejected;
    if (i > 0) merged.counts = sumCounts(merged.counts, p.counts);
    if (merged.samples.length < MAX_SAMPLES)
      merged.samples.push(...p.samples.slice(0, MAX_SAMPLES - merged.samples.length));
    if (p.firstDay !== null && (merged.firstDay === null || p.firstDay < merged.firstDay)) {
      merged.firstDay = p.firstDay;
      merged.firstDayLine = p.firstDayLine;
    }
    if (p.lastDay !== null && (merged.lastDay === null || p.lastDay > merged.lastDay)) {
      merged.lastDay = p.lastDay;
      merged.lastDayLine = p.lastDayLine;
    }
  }
  return merged;
}
