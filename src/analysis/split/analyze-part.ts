import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileCorrupt } from '../../files/verified-read.ts';
import type { HeadAnalysis } from '../head.ts';
import type { JobOptions } from '../options.ts';
import { RecordReader } from '../read/csv-records.ts';
import type { SpillSetup } from '../spill/spill-store.ts';
import type { FormatDecision } from '../values/format-decision.ts';
import type { PartRun } from './merged-aggregate.ts';
import { PartChecksum } from './part-checksum.ts';
import { TABLE_NAMES, partFigures } from './part-figures.ts';
import type { PartFigures } from './part-figures.ts';
import type { RecordDelimiter } from './record-boundaries.ts';

/** One part of a split file: bytes [start, end) of it, the first starting on a record. */
export interface PartPlan {
  readonly start: number;
  readonly end: number;
}

/** The decisions every part of a split file shares, made once from the file's head. */
export interface SplitDecisions {
  /** The head's decisions (the encoding, when provisional, is the parts' to decide: see mergeFigures). */
  readonly head: HeadAnalysis;
  /** The format decided from the file's first DECIDE_ROWS records. */
  readonly decision: FormatDecision;
  readonly recordDelimiter: RecordDelimiter;
  /**
   * The head was plain ASCII: each part reads as one pass does, its first non-ASCII bytes
   * deciding between UTF-8 and Windows-1252 (analysis/read/encoding.ts), and the merge
   * takes the first part's decision in file order, refusing parts that decided otherwise.
   */
  readonly encodingProvisional: boolean;
}

/** The whole split (planSplit), as the merge uses it. */
export interface SplitPlan extends SplitDecisions {
  readonly parts: readonly PartPlan[];
}

/** What one part is handed (JSON-safe: it travels in the part's job data). */
export interface PartTask extends SplitDecisions {
  readonly index: number;
  readonly range: PartPlan;
}

/** Part `index` of a whole plan, as a task. */
export function partTask(plan: SplitPlan, index: number): PartTask {
  const { head, decision, recordDelimiter, encodingProvisional } = plan;
  return { head, decision, recordDelimiter, encodingProvisional, index, range: plan.parts[index]! };
}

export interface PartOutput {
  figures: PartFigures;
  /** The part's per-key tables, as spilled runs for the merge. */
  runs: PartRun[];
}

export interface PartHooks {
  signal?: AbortSignal;
  /** Called per ≤ 64 KiB slice with the part's bytes and data rows so far. */
  onProgress?: (bytes: number, rows: number) => void;
  maxRecordBytes?: number;
  /** Where the part's tables spill and leave their runs (required: runs are the hand-over). */
  spill: SpillSetup;
}

const SLICE_BYTES = 64 * 1024;
/**
 * A part yields to the event loop this often: the attempt runs part 0 in its own
 * process while it polls the other parts' progress and writes the job's, and those timers
 * run only when the part yields. (Tuned when a scan shared the process: with 15 ms its reads
 * slowed ~3× beside a part. A yield costs microseconds; 3 ms stays.)
 */
const YIELD_EVERY_MS = 3;

function readerFor(task: PartTask, options: JobOptions, hooks: PartHooks): RecordReader {
  const { head } = task;
  return new RecordReader({
    delimiter: head.delimiter,
    encoding: head.encoding,
    encodingProvisional: task.encodingProvisional,
    options,
    maxRecordBytes: hooks.maxRecordBytes ?? 1024 * 1024,
    spill: hooks.spill,
    // The first part reads the header and decides the format itself, from the same first
    // records the plan decided from: exactly what one pass does (with the record delimiter
    // the plan found, which is the one csv-parse would discover: see RecordReaderSetup).
    ...(task.index === 0
      ? { recordDelimiter: task.recordDelimiter }
      : { part: { header: head.header, decision: task.decision, recordDelimiter: task.recordDelimiter } }),
  });
}

/**
 * Analyses one part of a split file from `source` (exactly its bytes): parses it with the
 * plan's head decisions and returns its exact partial figures, with line numbers counted
 * from the part's start (the merge adds the lines before it), and its tables' runs. Its
 * bytes are counted against the plan's range (FILE_CORRUPT) and their CRC-32 goes with the
 * figures: the merge checks the parts' CRC-32s together against the upload's.
 */
export async function analyzePart(
  source: AsyncIterable<Buffer>,
  task: PartTask,
  options: JobOptions,
  hooks: PartHooks,
): Promise<PartOutput> {
  const { index, range } = task;
  const reader = readerFor(task, options, hooks);
  const check = new PartChecksum();
  const want = range.end - range.start;
  let bytes = 0;
  let lastYield = performance.now();
  for await (const chunk of source) {
    bytes += chunk.length;
    if (bytes > want) throw fileCorrupt();
    check.update(chunk);
    for (let off = 0; off < chunk.length; off += SLICE_BYTES) {
      reader.write(chunk.subarray(off, Math.min(chunk.length, off + SLICE_BYTES)), false);
      hooks.onProgress?.(bytes, reader.rows);
      hooks.signal?.throwIfAborted();
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await yieldToLoop();
        lastYield = performance.now();
        hooks.signal?.throwIfAborted();
      }
    }
  }
  if (bytes !== want) throw fileCorrupt();
  reader.write(undefined, true);
  const agg = reader.finish();
  const figures = partFigures(agg, {
    endedInQuote: reader.endedInQuote,
    lines: reader.linesAtEnd,
    crc32: check.value,
    encoding: reader.encodingDecided ? reader.encoding : null,
  });
  const runs: PartRun[] = [];
  for (const t of agg.currencies.values()) {
    for (const table of TABLE_NAMES) {
      for (const run of t[table]?.takeRuns() ?? []) {
        runs.push({ part: index, currency: t.currency, table, bytes: run.bytes, bounds: run.bounds });
      }
    }
  }
  return { figures, runs };
}
