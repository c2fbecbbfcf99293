import { describe, expect, it } from 'vitest';
import type { SplitPlan } from '../../src/analysis/split/analyze-part.ts';
import type { PartStatus } from '../../src/db/jobs/analysis-parts.ts';
import { partsNearEnd } from '../../src/worker/split/tail-poll.ts';

// The attempt polls its parts quickly only while every part, its own included, has ended or
// is within its last 16 MiB: a part still queued, or further from its end, is polled at the
// progress interval (a lone worker runs the queued parts after its own, one by one).

const MiB = 1024 * 1024;
/** Three parts of 100 MiB: part 0 is the attempt's own, 1 and 2 are queued. */
const plan = {
  parts: [
    { start: 0, end: 100 * MiB },
    { start: 100 * MiB, end: 200 * MiB },
    { start: 200 * MiB, end: 300 * MiB },
  ],
} as unknown as SplitPlan;

const status = (part: number, bytes: number, more: Partial<PartStatus> = {}): PartStatus => ({
  part,
  bytes,
  rows: 0,
  done: false,
  error: null,
  ...more,
});
const ended = { bytes: 100 * MiB, ended: true };
const done = (part: number) => status(part, 100 * MiB, { done: true });

describe('partsNearEnd', () => {
  it('is true once every part has ended or has at most 16 MiB left', () => {
    expect(partsNearEnd(plan, ended, [done(1), status(2, 84 * MiB)])).toBe(true);
    expect(partsNearEnd(plan, { bytes: 90 * MiB, ended: false }, [status(1, 99 * MiB), done(2)])).toBe(true);
  });

  it('is false while a queued part has more than 16 MiB left', () => {
    expect(partsNearEnd(plan, ended, [done(1), status(2, 84 * MiB - 1)])).toBe(false);
    expect(partsNearEnd(plan, ended, [status(1, 50 * MiB), done(2)])).toBe(false);
  });

  it("is false while the attempt's own part has more than 16 MiB left", () => {
    expect(partsNearEnd(plan, { bytes: 50 * MiB, ended: false }, [done(1), done(2)])).toBe(false);
  });

  it('is false for a part still waiting in the queue, however small', () => {
    expect(partsNearEnd(plan, ended, [done(1), status(2, 0)])).toBe(false);
    const small = {
      parts: [
        { start: 0, end: 8 * MiB },
        { start: 8 * MiB, end: 16 * MiB },
      ],
    } as unknown as SplitPlan;
    expect(partsNearEnd(small, { bytes: 8 * MiB, ended: true }, [status(1, 0)])).toBe(false);
    expect(partsNearEnd(small, { bytes: 8 * MiB, ended: true }, [status(1, 1)])).toBe(true);
  });

  it('counts a failed part as ended', () => {
    const failed = { code: 'INVALID_CSV', message: 'line 3: …' };
    expect(partsNearEnd(plan, ended, [status(1, 10, { error: failed }), status(2, 90 * MiB)])).toBe(true);
  });

  it('is false while a queued part has no row to read', () => {
    expect(partsNearEnd(plan, ended, [done(1)])).toBe(false);
  });
});
