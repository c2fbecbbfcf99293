import { assemble } from '../analyze-stream.ts';
import type { AnalyzeInput } from '../analyze-stream.ts';
import type { RevenueAnalysis } from '../result.ts';
import type { SpillSetup } from '../spill/spill-store.ts';
import type { PartOutput, SplitPlan } from './analyze-part.ts';
import { mergeFigures } from './merge-figures.ts';
import { MergedAggregate } from './merged-aggregate.ts';

/**
 * The job's result from its parts' outputs (in part order), identical to one pass over the
 * whole file; or `{ inexact }` when the parts cannot be merged exactly (see merge-figures.ts)
 * and the file must be analysed in one piece. `spill` receives the parts' runs until the
 * result has visited them. Throws what one pass would after its last row (NO_VALID_ROWS,
 * a date span too long).
 */
export async function mergeParts(
  plan: SplitPlan,
  outputs: readonly PartOutput[],
  input: AnalyzeInput,
  spill: SpillSetup,
  signal?: AbortSignal,
): Promise<RevenueAnalysis | { inexact: string }> {
  const merged = mergeFigures(outputs.map((o) => o.figures));
  if (typeof merged === 'string') return { inexact: merged };
  const view = new MergedAggregate(merged, plan.decision, spill);
  for (const o of outputs) for (const run of o.runs) view.adoptRun(run);
  return assemble(view, plan.head, input, signal);
}
