import { TallyError } from '../../errors.ts';
import { analyzeHead } from '../head.ts';
import type { HeadAnalysis } from '../head.ts';
import type { JobOptions } from '../options.ts';
import { RecordReader } from '../read/csv-records.ts';
import { HEAD_BYTES, isGzip } from '../read/dialect.ts';
import { encodingIsProvisional } from '../read/encoding.ts';
import type { FormatDecision } from '../values/format-decision.ts';
import type { SplitPlan } from './analyze-part.ts';
import { discoverRecordDelimiter, recordStartNear } from './record-boundaries.ts';
import type { RecordDelimiter } from './record-boundaries.ts';

/** Encodings whose quote, delimiter and line-end bytes are those of ASCII, never inside a character. */
const SPLITTABLE_ENCODINGS = new Set(['utf-8', 'windows-1252']);

/**
 * The bytes read after each cut's target to find a record start there (record-boundaries.ts),
 * at least: as long as the longest record one pass reads (MAX_RECORD_BYTES, 1 MiB by
 * default), so that a quoted field spanning all of it, which would leave the cut unproven,
 * could not be read anyway. One read of this size per cut: ~10 ms from PostgreSQL's store.
 */
export const CUT_WINDOW_BYTES = 1024 * 1024;

/** The bytes of a stored file in [start, end), in order. */
export type ReadRange = (start: number, end: number) => AsyncIterable<Buffer>;

export type SplitOutcome = { plan: SplitPlan } | { refused: string };

/** The head's decisions, or why the file is read in one piece. */
function headOf(first: Buffer, options: JobOptions): HeadAnalysis | string {
  if (isGzip(first)) return 'gzip';
  try {
    const head = analyzeHead(first.subarray(0, HEAD_BYTES), options);
    if (head.delimiter.length !== 1 || head.delimiter.charCodeAt(0) > 127)
      return 'a delimiter of more than one byte';
    if (!SPLITTABLE_ENCODINGS.has(head.encoding)) return `the ${head.encoding} encoding`;
    return head;
  } catch (error) {
    if (error instanceof TallyError) return `the head: ${error.code}`; // one pass reports it
    throw error;
  }
}

/** The reader is fed this much at a time, so the bytes the decision needed are known to this much. */
const DECIDE_SLICE_BYTES = 64 * 1024;

/** Feeds the file's first bytes to a reader until it has decided the format from the first DECIDE_ROWS records. */
class HeadDecision {
  decision: FormatDecision | null = null;
  failed = false;
  /** Bytes fed until the decision was made (no cut may come before them). */
  bytes = 0;
  private readonly reader: RecordReader;

  constructor(
    head: HeadAnalysis,
    provisional: boolean,
    options: JobOptions,
    recordDelimiter: RecordDelimiter,
  ) {
    this.reader = new RecordReader({
      delimiter: head.delimiter,
      encoding: head.encoding,
      encodingProvisional: provisional,
      options,
      maxRecordBytes: 1024 * 1024,
      recordDelimiter,
    });
  }

  push(chunk: Buffer): void {
    for (
      let off = 0;
      off < chunk.length && this.decision === null && !this.failed;
      off += DECIDE_SLICE_BYTES
    ) {
      const slice = chunk.subarray(off, off + DECIDE_SLICE_BYTES);
      try {
        this.reader.write(slice, false);
      } catch (error) {
        if (!(error instanceof TallyError)) throw error;
        this.failed = true; // one pass reports it
        return;
      }
      this.bytes += slice.length;
      this.decision = this.reader.aggregator?.decision ?? null;
    }
  }
}

/**
 * How fast the attempt parses its own part (part 0, worker/split/coordinate-split.ts) against
 * a queued part in a process of its own: on the P6 bench (1 GiB, 2 parts, 2 worker
 * processes on 2 vCPUs, 2026-12-06) part 0 read 0.92–1.03× the rows a second of the other
 * part (4 runs, mean 0.96) and ended 1.3–2.1 s after it in 3 of them; the attempt also
 * plans, polls the other parts' progress and writes the job's. Part 0 is sized to match.
 */
export const OWN_PART_PACE = 0.96;

/**
 * Where the parts should start: `parts` − 1 ascending offsets, equal shares of the file but
 * part 0's, which is OWN_PART_PACE of one.
 */
export function partTargets(bytes: number, parts: number): number[] {
  const total = OWN_PART_PACE + parts - 1;
  return Array.from({ length: parts - 1 }, (_, k) => Math.floor(((OWN_PART_PACE + k) / total) * bytes));
}

/** The head's decisions, made once, as one pass makes them: from the file's first bytes. */
interface Decided {
  head: HeadAnalysis;
  decision: FormatDecision;
  recordDelimiter: RecordDelimiter;
  provisional: boolean;
  /** Bytes the decision needed (no cut may come before them). */
  bytes: number;
}

/**
 * Reads the file from its start until the format is decided (the first DECIDE_ROWS records,
 * past the head's HEAD_BYTES), at most `limit` bytes: the first cut must come after them.
 */
async function decideHead(
  read: ReadRange,
  bytes: number,
  limit: number,
  options: JobOptions,
  signal: AbortSignal | undefined,
): Promise<Decided | string> {
  const it = read(0, bytes)[Symbol.asyncIterator]();
  try {
    const first: Buffer[] = [];
    let taken = 0;
    let decide: HeadDecision | null = null;
    let head: HeadAnalysis | string | null = null;
    let provisional = false;
    let recordDelimiter: RecordDelimiter | null = null;
    for (;;) {
      signal?.throwIfAborted();
      const r = await it.next();
      if (r.done === true) return 'the format was not decided before the file ended';
      taken += r.value.length;
      if (decide === null) {
        first.push(r.value);
        if (taken < HEAD_BYTES && taken < bytes) continue;
        const headBytes = Buffer.concat(first);
        head = headOf(headBytes, options);
        if (typeof head === 'string') return head;
        const found = discoverRecordDelimiter(headBytes);
        if (found === 'cr') return 'its lines end in CR alone';
        if (found === null) return 'no line break in the head';
        recordDelimiter = found;
        provisional = encodingIsProvisional(headBytes.subarray(0, HEAD_BYTES), options.encoding);
        decide = new HeadDecision(head, provisional, options, recordDelimiter);
        decide.push(headBytes);
      } else decide.push(r.value);
      if (decide.failed) return 'the head: the first records cannot be read';
      if (decide.decision !== null)
        return {
          head: head as HeadAnalysis,
          decision: decide.decision,
          recordDelimiter: recordDelimiter!,
          provisional,
          bytes: decide.bytes,
        };
      if (decide.bytes >= limit) return 'the first 1,000 records reach past the first cut';
    }
  } finally {
    await it.return?.();
  }
}

/** All of [start, end) as one buffer. */
async function readWhole(read: ReadRange, start: number, end: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of read(start, end)) pieces.push(piece);
  return Buffer.concat(pieces);
}

/**
 * Plans the split of a plain stored file into `parts` parts without reading it through:
 * the head's decisions are made once, from the file's first records as one pass makes them;
 * each cut is the record start found near its share of the file (partTargets), from
 * the `windowBytes` after it alone (recordStartNear). Every part can then start at
 * once, on any worker. What the bytes before a cut would have told a scan, the parts tell
 * the merge: their line counts (line numbers are part-relative until then), whether each
 * ended on a record (a cut the window could not prove), their encodings (a file whose head
 * was plain ASCII decides at its first non-ASCII bytes), their CRC-32s (checked together
 * against the upload's). Reads the head and (parts − 1) windows: ~1 MiB each.
 */
export async function planSplit(
  read: ReadRange,
  bytes: number,
  parts: number,
  options: JobOptions,
  { signal, windowBytes = CUT_WINDOW_BYTES }: { signal?: AbortSignal; windowBytes?: number } = {},
): Promise<SplitOutcome> {
  const targets = partTargets(bytes, parts);
  const decided = await decideHead(read, bytes, targets[0]!, options, signal);
  if (typeof decided === 'string') return { refused: decided };
  const { head, decision, recordDelimiter, provisional } = decided;
  const delimiter = head.delimiter.charCodeAt(0);
  const starts = [0];
  for (const target of targets) {
    signal?.throwIfAborted();
    const from = Math.max(target, starts[starts.length - 1]!, decided.bytes) - 2;
    const window = await readWhole(read, from, Math.min(bytes, from + 2 + windowBytes));
    const found = recordStartNear(window, 2, delimiter, recordDelimiter);
    if (found === null) return { refused: 'no record starts in the window after a cut' };
    const cut = from + found.at;
    if (cut >= bytes) return { refused: 'fewer record starts than parts' };
    starts.push(cut);
  }
  return {
    plan: {
      head,
      decision,
      recordDelimiter,
      encodingProvisional: provisional,
      parts: starts.map((start, k) => ({ start, end: starts[k + 1] ?? bytes })),
    },
  };
}
