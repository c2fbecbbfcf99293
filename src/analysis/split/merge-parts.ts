import { assemble } from '../analyze-stream.ts';
import type { AnalyzeInput } from '../analyze-stream.ts';
import type { RevenueAnalysis } from '../result.ts';
import type { SpillSetup } from '../spill/spill-store.ts';
import type { PartRun } from './merged-aggregate.ts';
import { MergedAggregate } from './merged-aggregate.ts';
import { fileCorrupt } from '../../files/verified-read.ts';
import type { SplitPlan } from './analyze-part.ts';
import { mergeFigures } from './merge-figures.ts';
import type { Inexact, MergedFigures } from './merge-figures.ts';
import { fileCrc32 } from './part-checksum.ts';
import type { PartFigures } from './part-figures.ts';

/**
 * The parts' figures (in part order) merged, once their CRC-32s add up to the one the
 * upload recorded (`uploadCrc32`; FILE_CORRUPT otherwise: no figure of a file that is not
 * the upload means anything); a string when they cannot be merged exactly (merge-figures.ts).
 */
export function mergeCheckedFigures(
  plan: SplitPlan,
  figures: readonly PartFigures[],
  uploadCrc32: number,
): MergedFigures | Inexact {
  if (figures.length !== plan.parts.length)
    throw new Error(`figures of ${figures.length} parts for a plan of ${plan.parts.length}`);
  const crc = fileCrc32(
    figures.map((f, k) => ({ crc32: f.crc32, bytes: plan.parts[k]!.end - plan.parts[k]!.start })),
  );
  if (crc !== uploadCrc32) throw fileCorrupt();
  return mergeFigures(figures);
}

/**
 * The job's result from its parts' merged figures and their runs (in part order), identical
 * to one pass over the whole file: `merged` from mergeFigures, read in the encoding the parts
 * decided. `spill` receives the parts' runs until the result has visited them. Throws what
 * one pass would after its last row (NO_VALID_ROWS, a date span too long).
 */
export async function resultOfParts(
  plan: SplitPlan,
  merged: MergedFigures,
  runs: Iterable<PartRun>,
  input: AnalyzeInput,
  spill: SpillSetup,
  signal?: AbortSignal,
): Promise<RevenueAnalysis> {
  const view = new MergedAggregate(merged, plan.decision, spill);
  for (const run of runs) view.adoptRun(run);
  const head = { ...plan.head, encoding: merged.encoding ?? plan.head.encoding };
  return assemble(view, head, input, signal);
}
