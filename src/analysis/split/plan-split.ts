import { TallyError } from '../../errors.ts';
import { analyzeHead } from '../head.ts';
import type { HeadAnalysis } from '../head.ts';
import type { JobOptions } from '../options.ts';
import { RecordReader } from '../read/csv-records.ts';
import { HEAD_BYTES, isGzip } from '../read/dialect.ts';
import { LateEncodingCheck, encodingIsProvisional } from '../read/encoding.ts';
import type { FormatDecision } from '../values/format-decision.ts';
import { partTask } from './analyze-part.ts';
import type { FirstPartTask, PartTask, SplitPlan } from './analyze-part.ts';
import { PartChecksum } from './part-checksum.ts';
import { RecordBoundaryScan } from './record-boundaries.ts';
import type { RecordDelimiter } from './record-boundaries.ts';

/** Encodings whose quote, delimiter and line-end bytes are those of ASCII, never inside a character. */
const SPLITTABLE_ENCODINGS = new Set(['utf-8', 'windows-1252']);

export type SplitOutcome = { plan: SplitPlan } | { refused: string };

/** Takes each part's CRC-32 (part-checksum.ts) as the scan finds where parts start. */
class PartChecksums {
  readonly values: number[] = [];
  private check: PartChecksum | null = new PartChecksum();

  /** `chunk` starts at `offset`; `cuts` are the part starts found in it (ascending). */
  push(chunk: Buffer, offset: number, cuts: readonly number[]): void {
    if (this.check === null) return;
    let from = 0;
    for (const cut of cuts) {
      this.check.update(chunk.subarray(from, cut - offset));
      this.values.push(this.check.value);
      this.check = new PartChecksum();
      from = cut - offset;
    }
    this.check.update(chunk.subarray(from));
  }

  /** The last part is not checked (it is read from the scan's own verified read). */
  stop(): void {
    this.check = null;
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
 * How much faster the plan's scan goes through the file than a part parses it, for a plan
 * whose cuts are set before the parts run (more than two parts, or no word of part 0's
 * progress: with two, see balancedFirstCut). Part 0 starts at once (its end is sent to it
 * later); every later part is queued when the scan passes its end, and the last starts
 * with the one before it, at the last cut (in the attempt that scans). Sizes are set so
 * that all end about together, each part's start plus its own parse time equal: a part k of
 * the middle is 1 + SCAN_SHARE times part k + 1, the last two are alike, and part 0 is
 * (1 + SCAN_SHARE) / (1 − SCAN_SHARE) times part 1 (1 / (1 − SCAN_SHARE) times it with 2
 * parts, part 1 then being the last). Measured at full size (P6, 1 GiB, 2 worker processes
 * on 2 vCPUs, 2026-12-05): the scan passed the middle of the file at 2.4–2.7 s while a
 * part parsed half of it in ~21 s: ~0.12. On the P6 quick bench (78 MB) it was ~0.17.
 */
const SCAN_SHARE = 0.15;

/** Relative part sizes (see SCAN_SHARE). */
function partWeights(parts: number): number[] {
  if (parts < 2) return [1];
  const later = Array.from(
    { length: parts - 1 },
    (_, k) => (1 + SCAN_SHARE) ** -Math.max(0, Math.min(k, parts - 3)),
  );
  const first = parts === 2 ? 1 / (1 - SCAN_SHARE) : (1 + SCAN_SHARE) / (1 - SCAN_SHARE);
  return [first, ...later];
}

/**
 * How fast the attempt parses its own (last) part against a part in a process of its own.
 * Measured slower in every P6 timeline so far: the last part took 22.3 s for the bytes part
 * 0 read in 19.7 s (2 × Xeon, 2026-12-05, both runs of the 15:00 bench alike: 0.88); 26.4 s
 * for what took 22.6 s (the 12-05 morning, 0.86); CPU profiles give csv-parse's loop ~13 %
 * more time per row in the attempt's process. The cause is not pinned down (its head
 * decision's parse in the same process, the whole file's SHA-256, the scan over the tail);
 * 0.9 leans towards alike, so a machine where the two parse alike loses ~5 % of the tail.
 */
export const LAST_PART_PACE = 0.9;

/**
 * Where part 0 of two should end, decided as the scan goes, `firstRead` being the bytes
 * part 0 has read so far: what it has left is shared so that both end together, the last
 * part parsing at LAST_PART_PACE of part 0's speed. Part 0 started at once and the last part
 * starts where the scan cuts, so this holds whatever the scan's speed against theirs on this
 * machine, and whatever delayed part 0 (a cut set beforehand from SCAN_SHARE made part 0 end
 * 2.4 s after the last part of 36 s, 2 × Xeon, 2026-12-05). Never before the cut for nothing
 * read (nor the middle): part 0 reads up to that before it asks for its end.
 */
export function balancedFirstCut(bytes: number, firstRead: number): number {
  const read = Math.min(bytes, Math.max(0, firstRead));
  return Math.max(Math.floor(bytes / 2), Math.floor(read + (bytes - read) / (1 + LAST_PART_PACE)));
}

/** Where the scan should cut: ascending offsets (see SCAN_SHARE). */
export function partTargets(bytes: number, parts: number): number[] {
  const weights = partWeights(parts);
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

/** Called once with part 0 as soon as it can start, before its end is found (see FirstPartTask). */
export type OnFirstPart = (task: FirstPartTask) => Promise<void>;

export interface ScanHooks {
  signal?: AbortSignal;
  /** Part 0 starts at once (see FirstPartTask); without it, each part waits for its end. */
  onFirst?: OnFirstPart;
  /**
   * The bytes part 0 (started by `onFirst`) has read so far, as last heard: with two parts,
   * the cut between them is balanced on it (balancedFirstCut) instead of set beforehand.
   */
  firstPartRead?: () => number;
}

/** The scan's state over the file: cuts, part checksums, the head's late decisions. */
class PartPlanner {
  refused: string | null = null;
  private readonly scan: RecordBoundaryScan;
  private readonly late: LateEncodingCheck | null;
  /** Made at the first line break (the scan's record delimiter given to its parser). */
  private decide: HeadDecision | null = null;
  /** Chunks before the first line break, for the decision once it is made. */
  private beforeDecide: Buffer[] = [];
  private readonly provisional: boolean;
  private readonly checksums = new PartChecksums();
  /** Bytes taken so far: the next chunk's offset in the file. */
  offset = 0;

  /** Where part 0's end is looked for: the first record start at or past it. */
  private readonly firstTarget: number;
  /** Two parts, balanced on part 0's progress (balancedFirstCut); null: cuts set beforehand. */
  private readonly firstPartRead: (() => number) | null;

  constructor(
    private readonly head: HeadAnalysis,
    headBytes: Buffer,
    private readonly bytes: number,
    parts: number,
    private readonly options: JobOptions,
    firstPartRead: (() => number) | undefined,
  ) {
    this.firstPartRead = parts === 2 ? (firstPartRead ?? null) : null;
    const targets = this.firstPartRead === null ? partTargets(bytes, parts) : [balancedFirstCut(bytes, 0)];
    this.firstTarget = targets[0]!;
    this.scan = new RecordBoundaryScan(head.delimiter.charCodeAt(0), targets);
    this.provisional = encodingIsProvisional(headBytes.subarray(0, HEAD_BYTES), options.encoding);
    this.late = this.provisional ? new LateEncodingCheck() : null;
  }

  /** Every cut is found (and the first passed its check): what follows is the last part. */
  get cutsDone(): boolean {
    return this.refused === null && this.scan.cuts.length > 0 && this.scan.cutsDone;
  }

  /** Where the last part starts (once cutsDone). */
  get lastCut(): number {
    return this.scan.cuts[this.scan.cuts.length - 1]!.offset;
  }

  /** Part 0 before its end is found, once the scan knows the record delimiter (null: not yet, or too late). */
  firstTask(): FirstPartTask | null {
    const recordDelimiter = this.scan.recordDelimiter;
    if (this.refused !== null || recordDelimiter === null || this.scan.cuts.length > 0) return null;
    return {
      head: this.head,
      recordDelimiter,
      index: 0,
      target: this.firstTarget,
      ...(this.provisional ? { encodingProvisional: true } : {}),
    };
  }

  /** The last part (once cutsDone), to the file's end. */
  lastTask(bytes: number): PartTask {
    return this.task(this.scan.cuts.length, bytes);
  }

  /** Scans one chunk (and checksums it); returns the parts whose end it passed (none once refused). */
  take(chunk: Buffer): PartTask[] {
    const seen = this.scan.cuts.length;
    if (this.refused === null) {
      if (this.firstPartRead !== null && seen === 0)
        this.scan.moveNextTarget(balancedFirstCut(this.bytes, this.firstPartRead()));
      this.scan.push(chunk);
      this.decideFrom(chunk);
      if (this.late !== null && !this.late.decided) this.late.accept(chunk, false);
      this.refused = this.scan.refused;
    }
    const found = this.scan.cuts.slice(seen);
    this.checksums.push(
      chunk,
      this.offset,
      found.map((c) => c.offset),
    );
    this.offset += chunk.length;
    if (this.refused !== null) return [];
    if (seen === 0 && found.length > 0) this.refused = this.firstCutRefusal();
    if (this.cutsDone) this.checksums.stop();
    return this.refused === null ? found.map((_, i) => this.task(seen + i)) : [];
  }

  /** Feeds the head's decision, made once the scan has found the record delimiter. */
  private decideFrom(chunk: Buffer): void {
    if (this.decide !== null) return this.decide.push(chunk);
    this.beforeDecide.push(chunk);
    const recordDelimiter = this.scan.recordDelimiter;
    if (recordDelimiter === null) return; // no line break yet (or refused)
    this.decide = new HeadDecision(this.head, this.provisional, this.options, recordDelimiter);
    for (const c of this.beforeDecide) this.decide.push(c);
    this.beforeDecide = [];
  }

  private get decision(): FormatDecision | null {
    return this.decide?.decision ?? null;
  }

  /** The head's decision must be made from bytes before the first cut, as one pass makes it. */
  private firstCutRefusal(): string | null {
    if (this.decision === null || this.scan.cuts[0]!.offset < this.decide!.bytes)
      return 'the first 1,000 records reach past the first cut';
    return null;
  }

  /** Part `index`, whose start the scan has passed (and its end, but for the last part). */
  private task(index: number, end?: number): PartTask {
    const start = index === 0 ? { offset: 0, linesBefore: 0 } : this.scan.cuts[index - 1]!;
    const late = this.late;
    const last = index === this.scan.cuts.length;
    return {
      head: { ...this.head, encoding: late?.decided === true ? late.encoding : this.head.encoding },
      decision: this.decision!,
      recordDelimiter: this.scan.recordDelimiter ?? '\n',
      index,
      // The last part of a scan still under way reads the rest of the file as one pass
      // would: its encoding is decided, if not yet, by its own first non-ASCII bytes.
      ...(last && late?.decided === false ? { encodingProvisional: true } : {}),
      range: {
        start: start.offset,
        end: end ?? this.scan.cuts[index]!.offset,
        linesBefore: start.linesBefore,
        crc32: last ? null : this.checksums.values[index]!,
      },
    };
  }

  /** After the file's verified end: the plan the merge uses (the encoding final). */
  finish(bytes: number): { plan: SplitPlan } | { refused: string } {
    if (this.refused !== null) return { refused: this.refused };
    if (this.decision === null) return { refused: 'the format was not decided in the first cut' };
    if (!this.cutsDone) return { refused: 'fewer record starts than parts' };
    const last = this.scan.cuts.length;
    const tasks = Array.from({ length: last + 1 }, (_, k) => this.task(k, k === last ? bytes : undefined));
    const { head, decision, recordDelimiter } = tasks[last]!; // the encoding final: the scan is over
    return { plan: { head, decision, recordDelimiter, parts: tasks.map((t) => t.range) } };
  }
}

/**
 * The scan has found every cut: the last part starts here and runs to the file's end. The
 * caller reads `tail` (the rest of the verified read, from the last cut) to its end, as
 * the last part's bytes; the scan goes on over them as they are read (its refusals, the
 * encoding's late decision), and `plan()` then gives the whole plan.
 */
export interface ScannedToLastCut {
  readonly last: PartTask;
  readonly tail: AsyncIterable<Buffer>;
  /** Once `tail` ended: the plan, or why the file must be read in one piece after all. */
  plan(): SplitOutcome;
  /** Why the file must be read in one piece after all, found in the tail so far (null: nothing yet). */
  refusal(): string | null;
}

export type ScanOutcome = ScannedToLastCut | { refused: string };

/**
 * The rest of the read from the last cut: the rest of the chunk it is in, the chunks read
 * ahead for the head, then every later chunk, each scanned as it passes.
 */
async function* tailOf(
  rest: Buffer,
  ahead: Buffer[],
  it: AsyncIterator<Buffer>,
  planner: PartPlanner,
  signal: AbortSignal | undefined,
  ended: () => void,
): AsyncGenerator<Buffer> {
  let done = false;
  try {
    if (rest.length > 0) yield rest;
    for (;;) {
      signal?.throwIfAborted();
      let chunk = ahead.shift();
      if (chunk === undefined) {
        const r = await it.next();
        if (r.done === true) break;
        chunk = r.value;
      }
      planner.take(chunk);
      // Refused on the way (a CR where the scan cannot number lines): the part's figures
      // will be thrown away, so reading on is for nothing.
      if (planner.refused !== null) return;
      yield chunk;
    }
    done = true;
    ended();
  } finally {
    if (!done) await it.return?.();
  }
}

/**
 * Scans a plain stored file for where its `parts` parts start (sizes: partTargets), in one
 * sequential pass over `source` (the verified read of the whole file: its length and
 * SHA-256 are checked at its end). The head's decisions are made once here; the scan finds
 * record starts near each cut and takes the CRC-32 of every part but the last, which each part checks
 * again when it reads its range.
 *
 * Pipelined: `onFirst`, when given, gets part 0 as soon as the scan knows the file's record
 * delimiter (its first chunk), before its end is found (FirstPartTask); `onPart` gets each
 * part but the last as soon as the scan has passed its end (part 0 too, with its end), so
 * the parts run while the scan goes on. With two parts and `firstPartRead`, their cut is
 * balanced on part 0's progress as the scan goes (balancedFirstCut). At the last cut the scan returns the last part
 * with the rest of the read (ScannedToLastCut): the caller analyses the last part from the
 * very bytes the scan would have read next, so the file is read once up to the last cut
 * and once after it, and the whole file's verification comes at the last part's end.
 * Parts handed out before a refusal (or a FILE_CORRUPT thrown at the end) must be discarded
 * by the caller: only a plan says the whole file was verified and can be split. A refusal
 * ends the scan where it is found (the file is then read in one piece, and verified there).
 */
export async function scanToLastCut(
  source: AsyncIterable<Buffer>,
  bytes: number,
  parts: number,
  options: JobOptions,
  onPart: OnPartReady = () => Promise.resolve(),
  { signal, onFirst, firstPartRead }: ScanHooks = {},
): Promise<ScanOutcome> {
  const it = source[Symbol.asyncIterator]();
  const first = await readFirst(it);
  const headBytes = Buffer.concat(first);
  const head = headOf(headBytes, options);
  const planner =
    typeof head === 'string'
      ? null
      : new PartPlanner(
          head,
          headBytes,
          bytes,
          parts,
          options,
          onFirst === undefined ? undefined : firstPartRead,
        );
  let ended = false;
  let firstSent = false;
  const ahead = [...first];
  // A refusal stops the scan: the caller reads the file again in one piece, which verifies
  // it, so reading this copy on to its end would only read the file twice.
  while (planner !== null && planner.refused === null) {
    let chunk = ahead.shift();
    if (chunk === undefined) {
      const r = await it.next();
      if (r.done === true) break;
      chunk = r.value;
    }
    signal?.throwIfAborted(); // a cancelled job's scan stops here, not at the file's end
    const found = planner.take(chunk);
    const early = onFirst === undefined || firstSent ? null : planner.firstTask();
    if (early !== null) {
      firstSent = true;
      await onFirst!(early);
    }
    for (const task of found) await onPart(task);
    if (planner.cutsDone) {
      const rest = chunk.subarray(planner.lastCut - (planner.offset - chunk.length));
      const last = planner.lastTask(bytes);
      return {
        last,
        tail: tailOf(rest, ahead, it, planner, signal, () => (ended = true)),
        plan: () => {
          if (!ended && planner.refused === null) throw new Error('the last part ended before the file did');
          return planner.finish(bytes);
        },
        refusal: () => planner.refused,
      };
    }
  }
  await it.return?.();
  if (planner === null) return { refused: head as string };
  const done = planner.finish(bytes); // never a plan: refused, or the cuts were not all found
  return 'refused' in done ? done : { refused: 'fewer record starts than parts' };
}

/**
 * The whole plan in one call, for callers that read every part from its own range (tests,
 * benchmarks): the scan to the last cut, then the rest of the file read through and checksummed,
 * the last part handed to `onPart` after the file's verified end.
 */
export async function planSplit(
  source: AsyncIterable<Buffer>,
  bytes: number,
  parts: number,
  options: JobOptions,
  onPart: OnPartReady = () => Promise.resolve(),
  signal?: AbortSignal,
): Promise<SplitOutcome> {
  const scanned = await scanToLastCut(source, bytes, parts, options, onPart, { signal });
  if ('refused' in scanned) return scanned;
  const check = new PartChecksum();
  for await (const chunk of scanned.tail) check.update(chunk);
  const outcome = scanned.plan();
  if ('refused' in outcome) return outcome;
  const last = outcome.plan.parts.length - 1;
  const plan = {
    ...outcome.plan,
    parts: outcome.plan.parts.map((p, k) => (k === last ? { ...p, crc32: check.value } : p)),
  };
  await onPart(partTask(plan, last));
  return { plan };
}
