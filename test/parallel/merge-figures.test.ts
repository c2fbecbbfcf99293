import { describe, expect, it } from 'vitest';
import { noRejections } from '../../src/analysis/aggregate/rejections.ts';
import { mergeFigures } from '../../src/analysis/split/merge-figures.ts';
import type { PartFigures } from '../../src/analysis/split/part-figures.ts';

const counts = noRejections();

function part(over: Partial<PartFigures>): PartFigures {
  return {
    total: 0,
    valid: 0,
    rejected: 0,
    counts,
    samples: [],
    exclusions: [],
    exclusionsOverflowed: false,
    categories: [],
    firstDay: null,
    firstDayLine: 0,
    lastDay: null,
    lastDayLine: 0,
    currencies: [],
    endedInQuote: false,
    lines: 0,
    crc32: 0,
    encoding: null,
    ...over,
  };
}

const usd = (revenue: string, minDay: number, months: [number, string, number][]) => ({
  currency: 'USD',
  revenue,
  refunds: '0',
  transactions: months.reduce((n, m) => n + m[2], 0),
  minDay,
  maxDay: minDay + 40,
  months,
  tables: [],
});

describe('merging the figures of a split file', () => {
  it('adds sums exactly, keeps the earliest extremes and the first 100 samples in file order, in file lines', () => {
    const big = (2n ** 60n).toString();
    const a = part({
      total: 3,
      rejected: 60,
      samples: Array.from({ length: 60 }, (_, i) => ({ line: i + 2, reason: 'a' })),
      firstDay: 100,
      firstDayLine: 5,
      lastDay: 200,
      lastDayLine: 9,
      currencies: [usd(big, 100, [[3, big, 2]])],
      exclusions: [{ reason: 'cancelled', rows: 2, firstLine: 7 }],
      lines: 800, // b's lines are counted from its own start: the merge adds these
    });
    const b = part({
      total: 4,
      rejected: 60,
      samples: Array.from({ length: 60 }, (_, i) => ({ line: i + 200, reason: 'b' })),
      firstDay: 100,
      firstDayLine: 1,
      lastDay: 300,
      lastDayLine: 400,
      currencies: [
        usd('1', 90, [
          [3, '1', 1],
          [4, '5', 1],
        ]),
      ],
      exclusions: [
        { reason: 'cancelled', rows: 5, firstLine: 100 },
        { reason: 'test', rows: 3, firstLine: 101 },
      ],
    });
    const m = mergeFigures([a, b]);
    if (typeof m === 'string') throw new Error(m);
    expect(m.total).toBe(7);
    expect(m.samples).toHaveLength(100);
    expect(m.samples[59]!.line).toBe(61);
    expect(m.samples[60]!.line).toBe(1000);
    expect([m.firstDayLine, m.lastDayLine]).toEqual([5, 1200]); // a tie keeps the earlier row
    const c = m.currencies[0]!;
    expect(c.figures.revenue).toBe((2n ** 60n + 1n).toString());
    expect(c.figures.minDay).toBe(90);
    expect(c.figures.months).toEqual([
      [3, (2n ** 60n + 1n).toString(), 3],
      [4, '5', 1],
    ]);
    expect(c.parts).toEqual([0, 1]);
    expect(m.exclusions).toEqual([
      { reason: 'cancelled', rows: 7, firstLine: 7 },
      { reason: 'test', rows: 3, firstLine: 901 },
    ]);
  });

  it("takes the file's encoding from the first part that decided one, and refuses parts that decided another", () => {
    const decided = (encoding: string | null) => part({ encoding });
    const merged = mergeFigures([
      decided(null),
      decided('windows-1252'),
      decided(null),
      decided('windows-1252'),
    ]);
    expect(typeof merged !== 'string' && merged.encoding).toBe('windows-1252');
    const none = mergeFigures([decided(null), decided(null)]);
    expect(typeof none !== 'string' && none.encoding).toBeNull();
    expect(mergeFigures([decided(null), decided('utf-8'), decided('windows-1252')])).toBe(
      'the parts read different encodings',
    );
  });

  it('refuses what only the order of rows decides', () => {
    expect(mergeFigures([part({ endedInQuote: true }), part({})])).toBe('a cut fell inside a quoted field');
    expect(mergeFigures([part({}), part({ exclusionsOverflowed: true })])).toMatch(/exclusion reasons/);
    expect(mergeFigures([part({ counts: { ...counts, currency: 1 } })])).toMatch(/currencies/);
    const many = (from: number) =>
      part({
        exclusions: Array.from({ length: 60 }, (_, i) => ({ reason: `r${from + i}`, rows: 1, firstLine: i })),
      });
    expect(mergeFigures([many(0), many(60)])).toBe('more distinct exclusion reasons than are listed');
  });
});
