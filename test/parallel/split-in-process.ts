import type { AnalyzeInput } from '../../src/analysis/analyze-stream.ts';
import type { JobOptions } from '../../src/analysis/options.ts';
import type { RevenueAnalysis } from '../../src/analysis/result.ts';
import { analyzePart } from '../../src/analysis/split/analyze-part.ts';
import type { PartTask, SplitPlan } from '../../src/analysis/split/analyze-part.ts';
import { mergeParts } from '../../src/analysis/split/merge-parts.ts';
import { scanToLastCut } from '../../src/analysis/split/plan-split.ts';
import type { SpillSetup } from './spill-stores.ts';

export interface InProcessSplit {
  plan: SplitPlan;
  /** The parts handed out while the scan went on (every part but the last). */
  queued: PartTask[];
  /** The last part, as the scan returned it at the last cut. */
  last: PartTask;
  result: RevenueAnalysis;
}

/**
 * Splits a file as a worker's attempt does (worker/split/coordinate-split.ts), in one
 * process: the scan reads `file` as `read` hands it out and hands out every part but the
 * last, each analysed here from its own slice read as `readPart` hands it out; the last part
 * is analysed from the rest of the scan's own read; then the merge. Throws on a refusal or
 * an inexact merge.
 */
export async function splitInProcess(
  file: Buffer,
  read: (bytes: Buffer) => AsyncIterable<Buffer>,
  readPart: (bytes: Buffer) => AsyncIterable<Buffer>,
  parts: number,
  options: JobOptions,
  spill: () => SpillSetup,
): Promise<InProcessSplit> {
  const queued: PartTask[] = [];
  const scanned = await scanToLastCut(read(file), file.length, parts, options, (task) => {
    queued.push(task);
    return Promise.resolve();
  });
  if ('refused' in scanned) throw new Error(`refused: ${scanned.refused}`);
  const lastOut = await analyzePart(scanned.tail, scanned.last, options, { spill: spill() });
  const outcome = scanned.plan();
  if ('refused' in outcome) throw new Error(`refused: ${outcome.refused}`);
  const outputs = await Promise.all(
    queued.map((t) =>
      analyzePart(readPart(file.subarray(t.range.start, t.range.end)), t, options, { spill: spill() }),
    ),
  );
  const input: AnalyzeInput = { filename: 'big.csv', bytes: file.length, options };
  const result = await mergeParts(outcome.plan, [...outputs, lastOut], input, spill());
  if ('inexact' in result) throw new Error(`inexact: ${result.inexact}`);
  return { plan: outcome.plan, queued, last: scanned.last, result };
}
