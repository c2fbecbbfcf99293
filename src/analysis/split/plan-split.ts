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
import type { PartPlan, SplitPlan } from './analyze-part.ts';
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
 * Plans the split of a plain stored file into `parts` parts of about equal size, in one
 * sequential pass over `source` (the verified read of the whole file: its length and SHA-256
 * are checked at its end, so a plan exists only for the bytes uploaded). The head's
 * decisions are made once here; the scan finds record starts near each cut and hashes
 * every part, which each part checks again when it reads its range.
 */
export async function planSplit(
  source: AsyncIterable<Buffer>,
  bytes: number,
  parts: number,
  options: JobOptions,
): Promise<SplitOutcome> {
  const it = source[Symbol.asyncIterator]();
  const first = await readFirst(it);
  const headBytes = Buffer.concat(first);
  const head = headOf(headBytes, options);
  let refused: string | null = typeof head === 'string' ? head : null;
  const targets = Array.from({ length: parts - 1 }, (_, k) => Math.floor(((k + 1) * bytes) / parts));
  const scan = new RecordBoundaryScan(typeof head === 'string' ? 44 : head.delimiter.charCodeAt(0), targets);
  const provisional = encodingIsProvisional(headBytes.subarray(0, HEAD_BYTES), options.encoding);
  const late = provisional ? new LateEncodingCheck() : null;
  const decide = typeof head === 'string' ? null : new HeadDecision(head, provisional, options);
  const hashes = new PartHashes();
  let offset = 0;
  const take = (chunk: Buffer): void => {
    const seen = scan.cuts.length;
    if (refused === null) {
      decide!.push(chunk);
      scan.push(chunk);
      if (late !== null && !late.decided) late.accept(chunk, false);
    }
    hashes.push(
      chunk,
      offset,
      scan.cuts.slice(seen).map((c) => c.offset),
    );
    offset += chunk.length;
  };
  for (const chunk of first) take(chunk);
  // Read to the end whatever happens: the verification of the whole file is at its end.
  for (let r = await it.next(); r.done !== true; r = await it.next()) take(r.value);
  if (refused === null) refused = scan.refused;
  if (refused !== null || typeof head === 'string') return { refused: refused ?? 'the head' };
  if (decide!.decision === null) return { refused: 'the format was not decided in the first cut' };
  if (scan.cuts.length === 0 || scan.cuts[0]!.offset < decide!.bytes) {
    return { refused: 'the first 1,000 records reach past the first cut' };
  }
  const digests = hashes.end();
  const starts = [{ offset: 0, linesBefore: 0 }, ...scan.cuts];
  const partPlans: PartPlan[] = starts.map((c, i) => ({
    start: c.offset,
    end: starts[i + 1]?.offset ?? bytes,
    linesBefore: c.linesBefore,
    sha256: digests[i]!,
  }));
  const encoding = late?.decided === true ? late.encoding : head.encoding;
  return {
    plan: {
      head: { ...head, encoding },
      decision: decide!.decision,
      recordDelimiter: scan.recordDelimiter ?? '\n',
      parts: partPlans,
    },
  };
}
