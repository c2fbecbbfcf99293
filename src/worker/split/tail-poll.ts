import type { SplitPlan } from '../../analysis/split/analyze-part.ts';
import type { PartStatus } from '../../db/jobs/analysis-parts.ts';

/**
 * How often the attempt reads its parts' rows while every part is near its end
 * (`partsNearEnd`). The merge waits for the last part to end, and a poll at the progress
 * interval (250 ms) noticed a queued part's end up to that late, an eighth of a second on
 * average: on the P6 bench the merge once started 122 ms after the last part's end. A poll
 * is one indexed read of the job's part rows.
 */
export const TAIL_POLL_MS = 25;

/**
 * What "near its end" leaves of a part: ~0.6 s of parsing at the P6 bench's pace (26 MB/s
 * on a core), ~24 polls, and more than two progress intervals (a queued part writes its
 * progress every 250 ms, so its last reading can be one interval old). A part still in the
 * queue, or further from its end, is polled at the progress interval: a lone worker runs
 * the queued parts one after another after its own, and the attempt's own part shares its
 * thread with the polls.
 */
const NEAR_END_BYTES = 16 * 1024 * 1024;

/** The attempt's own part (part 0): bytes read so far, and whether it has ended. */
export interface OwnPartState {
  readonly bytes: number;
  readonly ended: boolean;
}

/**
 * Every part of `plan` has ended (or failed), or has started and has at most NEAR_END_BYTES
 * left: part 0 as the attempt's own state says, the queued parts as their rows say (one
 * each, `statuses`).
 */
export function partsNearEnd(plan: SplitPlan, own: OwnPartState, statuses: readonly PartStatus[]): boolean {
  const near = (part: number, bytes: number) => {
    const range = plan.parts[part];
    return range !== undefined && bytes > 0 && range.end - range.start - bytes <= NEAR_END_BYTES;
  };
  if (!own.ended && !near(0, own.bytes)) return false;
  if (statuses.length !== plan.parts.length - 1) return false;
  return statuses.every((s) => s.done || s.error !== null || near(s.part, s.bytes));
}
