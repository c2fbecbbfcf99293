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

/**
 * One part of a split file: bytes [start, end), the lines before it, its bytes' CRC-32
 * (part-checksum.ts; null for a last part read from the scan's own verified read, which
 * checks the whole file's SHA-256).
 */
export interface PartPlan {
  readonly start: number;
  readonly end: number;
  readonly linesBefore: number;
  readonly crc32: number | null;
}

/** The decisions every part of a split file shares, made once from the file's head. */
export interface SplitDecisions {
  /** The head's decisions (in a plan, the encoding is final: decided over the whole file by the scan). */
  readonly head: HeadAnalysis;
  /** The format decided from the file's first DECIDE_ROWS records. */
  readonly decision: FormatDecision;
  readonly recordDelimiter: RecordDelimiter;
}

/** The whole split, once the scan has read the file to its verified end (what the merge uses). */
export interface SplitPlan extends SplitDecisions {
  readonly parts: readonly PartPlan[];
}

/**
 * What one part is handed (JSON-safe: it travels in the part's job data). It is queued as
 * soon as the scan has passed the part's end, before the scan reaches the file's; its
 * encoding is the one decided so far, which is the file's for every byte of the part: a
 * file whose head was plain ASCII decides at its first non-ASCII bytes, and until then
 * both encodings read the bytes alike (analysis/read/encoding.ts).
 */
export interface PartTask extends SplitDecisions {
  readonly index: number;
  readonly range: PartPlan;
  /** The encoding is not decided yet: the part's first non-ASCII bytes decide, as in one pass. */
  readonly encodingProvisional?: boolean;
}

/**
 * Part 0, queued as soon as the file's head is read, before the scan has found where it
 * ends: it reads the file from its start as one pass does (deciding the format, and the
 * encoding if the head left it open, from its own first records and bytes) up to `target`,
 * the offset its end lies at or past, and there asks for its end (the first record start
 * the scan found past `target`) and its bytes' CRC-32.
 */
export interface FirstPartTask extends Omit<PartTask, 'decision' | 'range' | 'index'> {
  readonly index: 0;
  readonly target: number;
}

export type AnyPartTask = PartTask | FirstPartTask;

/** Part `index` of a whole plan, as a task. */
export function partTask(plan: SplitPlan, index: number): PartTask {
  const { head, decision, recordDelimiter } = plan;
  return { head, decision, recordDelimiter, index, range: plan.parts[index]! };
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
 * A part yields to the event loop this often: the attempt that split the file may run one of
 * its parts in the same process while its scan goes on, and the scan's reads resume only
 * when the part yields (with 15 ms, the scan of the P6 quick file took ~0.7 s for its second
 * half while a part ran beside it, against ~0.25 s for the first).
 */
const YIELD_EVERY_MS = 3;

function readerFor(task: AnyPartTask, options: JobOptions, hooks: PartHooks): RecordReader {
  const { head } = task;
  return new RecordReader({
    delimiter: head.delimiter,
    encoding: head.encoding,
    encodingProvisional: task.encodingProvisional === true,
    options,
    maxRecordBytes: hooks.maxRecordBytes ?? 1024 * 1024,
    spill: hooks.spill,
    // The first part reads the header and decides the format itself, from the same first
    // records the plan decided from: exactly what one pass does (with the record delimiter
    // the scan found, which is the one csv-parse would discover: see RecordReaderSetup).
    ...(!('range' in task) || task.index === 0
      ? { recordDelimiter: task.recordDelimiter }
      : {
          part: {
            header: head.header,
            decision: task.decision,
            linesBefore: task.range.linesBefore,
            recordDelimiter: task.recordDelimiter,
          },
        }),
  });
}

/**
 * Analyses one part of a split file from `source` (exactly its bytes): parses it with
 * the plan's head decisions, numbers lines as in the whole file, and returns its exact
 * partial figures and its tables' runs. The bytes are checked against the plan's length
 * and CRC-32 for the part (FILE_CORRUPT), which the plan's scan took while it verified the
 * whole file's SHA-256 against the upload's; a part without one reads a source that checks
 * itself (the last part: the scan's own verified read; a first part queued before its end
 * was found: its range read checks the CRC-32 it is given then).
 */
export async function analyzePart(
  source: AsyncIterable<Buffer>,
  task: AnyPartTask,
  options: JobOptions,
  hooks: PartHooks,
): Promise<PartOutput> {
  const { index } = task;
  const part = 'range' in task ? task.range : null;
  const reader = readerFor(task, options, hooks);
  const check = part?.crc32 == null ? null : new PartChecksum();
  const want = part === null ? Infinity : part.end - part.start;
  let bytes = 0;
  let lastYield = performance.now();
  for await (const chunk of source) {
    bytes += chunk.length;
    if (bytes > want) throw fileCorrupt();
    check?.update(chunk);
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
  if ((part !== null && bytes !== want) || (check !== null && check.value !== part!.crc32))
    throw fileCorrupt();
  reader.write(undefined, true);
  const agg = reader.finish();
  const figures = partFigures(agg, reader.endedInQuote);
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
