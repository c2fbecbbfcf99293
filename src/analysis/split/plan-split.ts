import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { TallyError } from '../../errors.ts';
import { analyzeHead } from '../head.ts';
import type { HeadAnalysis } from '../head.ts';
import type { JobOptions } from '../options.ts';
import { RecordReader } from '../read/csv-records.ts';
import { HEAD_BYTES, isGzip } from '../read/dialect.ts';
import { LateEncodingCheck, encodingIsProvisional } from '../read/encoding.ts';
import type { FormatDecision } from '../values/format-decision.ts';
import type { PartTask, SplitPlan } from './analyze-part.ts';
import { RecordBoundaryScan } from './record-boundaries.ts';

/** Encodings whose quote, delimiter and line-end bytes are those of ASCII, never inside a character. */
const SPLITTABLE_ENCODINGS = new Set(['utf-8', 'windows-1252']);

export type SplitOutcome = { plan: SplitPlan } | { refused: string };

/** Hashes each part's bytes as the scan finds where parts start. */
class PartHashes {
  readonly digests: string[] = [];
  private hash: Hash = createHash('sha256');

  /** `chunk` starts at `offset`; `cuts` are the part starts found in it (ascending). */
  push(chunk: Buffer, offset: number, cuts: readonly number[]): void {
    let from = 0;
    for (const cut of cuts) {
      this.hash.update(chunk.subarray(from, cut - offset));
      this.digests.push(this.hash.digest('hex'));
      this.hash = createHash('sha256');
      from = cut - offset;
    }
    this.hash.update(chunk.subarray(from));
  }

  end(): string[] {
    this.digests.push(this.hash.digest('hex'));
    return this.digests;
  }
}

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

/** Feeds the head to a reader until it has decided the format from the first DECIDE_ROWS records. */
class HeadDecision {
  decision: FormatDecision | null = null;
  /** Bytes the decision needed (the first cut must come after them). */
  bytes = 0;
  failed = false;
  private readonly reader: RecordReader;

  constructor(head: HeadAnalysis, provisional: boolean, options: JobOptions) {
    this.reader = new RecordReader({
      delimiter: head.delimiter,
      encoding: head.encoding,
      encodingProvisional: provisional,
      options,
      maxRecordBytes: 1024 * 1024,
    });
  }

  push(chunk: Buffer): void {
    if (this.decision !== null || this.failed) return;
    try {
      this.reader.write(chunk, false);
    } catch (error) {
      if (!(error instanceof TallyError)) throw error;
      this.failed = true; // one pass reports it
      return;
    }
    this.bytes += chunk.length;
    this.decision = this.reader.aggregator?.decision ?? null;
  }
}

/** The first chunks, at least HEAD_BYTES of them unless the file is shorter. */
async function readFirst(it: AsyncIterator<Buffer>): Promise<Buffer[]> {
  const first: Buffer[] = [];
  let bytes = 0;
  while (bytes < HEAD_BYTES) {
    const r = await it.next();
    if (r.done === true) break;
    first.push(r.value);
    bytes += r.value.length;
  }
  return first;
}

/**
 * How much faster the plan's scan goes through the file than a part parses it: a part k is
 * queued when the scan passes its end, so later parts start later. Part sizes shrink by
 * 1 + SCAN_SHARE from one part to the next so that all end about together (each part's
 * start, scan time to its end, plus its own parse time, equal). Measured on the P6 quick
 * bench (78 MB, 2 workers, 2 shared vCPUs): the scan read the file from PostgreSQL in
 * 0.5–1.0 s while a part parsed half of it in ~3 s, so a part's byte costs ~6× a scan's.
 * At full size (1 GiB) it was ~0.06 (scan 13.7 s, one pass 223 s); sizing for 0.15 there
 * costs ~2 % of the wall time by the projection in docs/performance.md (P6).
 */
const SCAN_SHARE = 0.15;

/** Where the scan should cut: ascending offsets, the parts' sizes a geometric series (see SCAN_SHARE). */
export function partTargets(bytes: number, parts: number): number[] {
  const weights = Array.from({ length: parts }, (_, k) => (1 + SCAN_SHARE) ** -k);
  const total = weights.reduce((a, b) => a + b, 0);
  const targets: number[] = [];
  let sum = 0;
  for (const w of weights.slice(0, -1)) {
    sum += w;
    targets.push(Math.floor((sum / total) * bytes));
  }
  return targets;
}

/** Called with each part as soon as the scan has passed its end (in part order). */
export type OnPartReady = (task: PartTask) => Promise<void>;

/** The scan's state over the file: cuts, part hashes, the head's late decisions. */
class PartPlanner {
  refused: string | null = null;
  private readonly scan: RecordBoundaryScan;
  private readonly late: LateEncodingCheck | null;
  private readonly decide: HeadDecision;
  private readonly hashes = new PartHashes();
  private offset = 0;

  constructor(
    private readonly head: HeadAnalysis,
    headBytes: Buffer,
    bytes: number,
    parts: number,
    options: JobOptions,
  ) {
    this.scan = new RecordBoundaryScan(head.delimiter.charCodeAt(0), partTargets(bytes, parts));
    const provisional = encodingIsProvisional(headBytes.subarray(0, HEAD_BYTES), options.encoding);
    this.late = provisional ? new LateEncodingCheck() : null;
    this.decide = new HeadDecision(head, provisional, options);
  }

  /** Scans and hashes one chunk; returns the parts whose end it passed (none once refused). */
  take(chunk: Buffer): PartTask[] {
    const seen = this.scan.cuts.length;
    if (this.refused === null) {
      this.decide.push(chunk);
      this.scan.push(chunk);
      if (this.late !== null && !this.late.decided) this.late.accept(chunk, false);
      this.refused = this.scan.refused;
    }
    const found = this.scan.cuts.slice(seen);
    this.hashes.push(
      chunk,
      this.offset,
      found.map((c) => c.offset),
    );
    this.offset += chunk.length;
    if (this.refused !== null) return [];
    if (seen === 0 && found.length > 0) this.refused = this.firstCutRefusal();
    return this.refused === null ? found.map((_, i) => this.task(seen + i)) : [];
  }

  /** The head's decision must be made from bytes before the first cut, as one pass makes it. */
  private firstCutRefusal(): string | null {
    if (this.decide.decision === null || this.scan.cuts[0]!.offset < this.decide.bytes)
      return 'the first 1,000 records reach past the first cut';
    return null;
  }

  /** Part `index`, whose end the scan has passed (its digest is taken). */
  private task(index: number, end?: number): PartTask {
    const start = index === 0 ? { offset: 0, linesBefore: 0 } : this.scan.cuts[index - 1]!;
    const late = this.late;
    return {
      head: { ...this.head, encoding: late?.decided === true ? late.encoding : this.head.encoding },
      decision: this.decide.decision!,
      recordDelimiter: this.scan.recordDelimiter ?? '\n',
      index,
      range: {
        start: start.offset,
        end: end ?? this.scan.cuts[index]!.offset,
        linesBefore: start.linesBefore,
        sha256: this.hashes.digests[index]!,
      },
    };
  }

  /** After the file's verified end: the last part, and the plan the merge uses. */
  finish(bytes: number): { plan: SplitPlan; last: PartTask } | { refused: string } {
    if (this.refused !== null) return { refused: this.refused };
    if (this.decide.decision === null) return { refused: 'the format was not decided in the first cut' };
    if (this.scan.cuts.length === 0) return { refused: 'the first 1,000 records reach past the first cut' };
    this.hashes.end();
    const tasks = Array.from({ length: this.scan.cuts.length + 1 }, (_, k) =>
      this.task(k, k === this.scan.cuts.length ? bytes : undefined),
    );
    const last = tasks[tasks.length - 1]!;
    const { head, decision, recordDelimiter } = last; // the encoding final: the scan is over
    return { plan: { head, decision, recordDelimiter, parts: tasks.map((t) => t.range) }, last };
  }
}

/**
 * Plans the split of a plain stored file into `parts` parts (sizes: partTargets), in one
 * sequential pass over `source` (the verified read of the whole file: its length and SHA-256
 * are checked at its end, so a plan exists only for the bytes uploaded). The head's
 * decisions are made once here; the scan finds record starts near each cut and hashes
 * every part, which each part checks again when it reads its range.
 *
 * Pipelined: `onPart` gets each part as soon as the scan has passed its end, so the parts
 * run while the scan goes on; the last one comes after the file's verified end. Parts
 * handed out before a refusal (or a FILE_CORRUPT thrown at the end) must be discarded by
 * the caller: only a returned plan says the whole file was verified and can be split.
 */
export async function planSplit(
  source: AsyncIterable<Buffer>,
  bytes: number,
  parts: number,
  options: JobOptions,
  onPart: OnPartReady = () => Promise.resolve(),
  signal?: AbortSignal,
): Promise<SplitOutcome> {
  const it = source[Symbol.asyncIterator]();
  const first = await readFirst(it);
  const headBytes = Buffer.concat(first);
  const head = headOf(headBytes, options);
  const planner = typeof head === 'string' ? null : new PartPlanner(head, headBytes, bytes, parts, options);
  const take = async (chunk: Buffer): Promise<void> => {
    signal?.throwIfAborted(); // a cancelled job's scan stops here, not at the file's end
    for (const task of planner?.take(chunk) ?? []) await onPart(task);
  };
  for (const chunk of first) await take(chunk);
  // Read to the end whatever happens: the verification of the whole file is at its end.
  for (let r = await it.next(); r.done !== true; r = await it.next()) await take(r.value);
  if (planner === null) return { refused: head as string };
  const done = planner.finish(bytes);
  if ('refused' in done) return done;
  await onPart(done.last);
  return { plan: done.plan };
}
