import { crc32 } from 'node:zlib';
import type { AnalyzeInput } from '../../src/analysis/analyze-stream.ts';
import type { JobOptions } from '../../src/analysis/options.ts';
import type { RevenueAnalysis } from '../../src/analysis/result.ts';
import { analyzePart, partTask } from '../../src/analysis/split/analyze-part.ts';
import type { PartOutput, SplitPlan } from '../../src/analysis/split/analyze-part.ts';
import { mergeCheckedFigures, resultOfParts } from '../../src/analysis/split/merge-parts.ts';
import { planSplit } from '../../src/analysis/split/plan-split.ts';
import type { SpillSetup } from './spill-stores.ts';

export interface InProcessSplit {
  plan: SplitPlan;
  outputs: PartOutput[];
  /** Bytes the plan read (the head and a window a cut). */
  planRead: number;
  result: RevenueAnalysis;
}

/**
 * Splits a file as a worker's attempt does (worker/split/coordinate-split.ts), in one
 * process: the plan reads the head and a window at each cut, every part is analysed from
 * its own range (each read as `read` hands out the bytes it is given), then the parts'
 * CRC-32s are checked against `uploadCrc32` (the whole file's, as the upload recorded it,
 * by default) and their figures merged. `stored` is what the parts read, the file by
 * default; `windowBytes`, the plan's window at each cut. Throws on a refusal or an inexact
 * merge.
 */
export async function splitInProcess(
  file: Buffer,
  read: (bytes: Buffer) => AsyncIterable<Buffer>,
  parts: number,
  options: JobOptions,
  spill: () => SpillSetup,
  {
    stored = file,
    uploadCrc32 = crc32(file),
    windowBytes,
  }: { stored?: Buffer; uploadCrc32?: number; windowBytes?: number } = {},
): Promise<InProcessSplit> {
  let planRead = 0;
  async function* counted(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      planRead += chunk.length;
      yield chunk;
    }
  }
  const outcome = await planSplit(
    (start, end) => counted(read(file.subarray(start, end))),
    file.length,
    parts,
    options,
    windowBytes === undefined ? {} : { windowBytes },
  );
  if ('refused' in outcome) throw new Error(`refused: ${outcome.refused}`);
  const { plan } = outcome;
  const outputs = await Promise.all(
    plan.parts.map((p, k) =>
      analyzePart(read(stored.subarray(p.start, p.end)), partTask(plan, k), options, { spill: spill() }),
    ),
  );
  const merged = mergeCheckedFigures(
    plan,
    outputs.map((o) => o.figures),
    uploadCrc32,
  );
  if (typeof merged === 'string') throw new Error(`inexact: ${merged}`);
  const input: AnalyzeInput = { filename: 'big.csv', bytes: file.length, options };
  const result = await resultOfParts(
    plan,
    merged,
    outputs.flatMap((o) => o.runs),
    input,
    spill(),
  );
  return { plan, outputs, planRead, result };
}
