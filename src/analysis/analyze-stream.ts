import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ZodError } from 'zod';
import { TallyError } from '../errors.ts';
import type { AggregateView } from './aggregate/aggregate-view.ts';
import { RecordReader } from './read/csv-records.ts';
import { HEAD_BYTES, isGzip } from './read/dialect.ts';
import { formatDay, monthOfDay } from './values/calendar.ts';
import { encodingIsProvisional } from './read/encoding.ts';
import { refuseNestedGzip } from '../lib/gzip-head.ts';
import { gunzip } from './read/gzip-stream.ts';
import { analyzeHead } from './head.ts';
import type { HeadAnalysis } from './head.ts';
import { fileError } from './read/input-error.ts';
import { MAX_MONTHS } from './aggregate/limits.ts';
import { buildAnalysis } from './result/build-analysis.ts';
import type { JobOptions } from './options.ts';
import { adviceFor, mostRowsRejected, noValidRows } from './result/rejection-advice.ts';
import { revenueAnalysisSchema } from './result.ts';
import type { RevenueAnalysis } from './result.ts';
import type { SpillSetup } from './spill/spill-store.ts';

export { createCsvPushApi, csvParseOptions } from './read/csv-records.ts';

export interface AnalyzeInput {
  filename: string;
  /** Size of the stored (possibly compressed) file; reported as `input.bytes`. */
  bytes: number;
  options: JobOptions;
}

export interface AnalyzeProgress {
  /** Source bytes consumed so far (stored bytes, compressed if the file is gzip). */
  bytesProcessed: number;
  /** Data rows read so far (valid and rejected). */
  rowsProcessed: number;
}

export interface AnalyzeHooks {
  /** Called often (per ≤ 64 KiB slice); the caller throttles what it writes. */
  onProgress?: (p: AnalyzeProgress) => void;
  /** Checked per slice; when aborted the analysis throws `signal.reason`. */
  signal?: AbortSignal;
  /** Largest record accepted, in bytes (default 1 MiB): an unclosed quote ends here. */
  maxRecordBytes?: number;
  /** Largest decompressed size of a gzip upload (default 8 GiB). */
  maxDecompressedBytes?: number;
  /** Largest decompressed / compressed ratio of a gzip upload (MAX_DECOMPRESSION_RATIO; default none). */
  maxDecompressionRatio?: number;
  /** Where per-key tables spill past their threshold; the caller owns (and removes) the store. */
  spill?: SpillSetup;
}

const MiB = 1024 * 1024;
/** csv-parse is fed at most this much per call, so one call stays around 1–2 ms. */
const SLICE_BYTES = 64 * 1024;
/** Longest stretch of synchronous work between two turns of the event loop. */
const YIELD_EVERY_MS = 15;

/** The source, counting the bytes it has handed out (stored bytes: compressed for gzip). */
class CountedSource {
  bytes = 0;
  readonly chunks: AsyncGenerator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.chunks = this.count(source);
  }

  private async *count(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      this.bytes += chunk.length;
      yield chunk;
    }
  }
}

async function* prepend(first: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    for (const b of first) yield b;
    for (;;) {
      const r = await rest.next();
      if (r.done === true) return;
      yield r.value;
    }
  } finally {
    await rest.return?.();
  }
}

/** The file's text bytes: the source itself, or its decompressed bytes when it starts like gzip. */
async function textBytes(
  source: AsyncGenerator<Buffer>,
  maxDecompressedBytes: number,
  maxDecompressionRatio?: number,
): Promise<{ text: AsyncIterable<Buffer>; compressed: boolean }> {
  const first: Buffer[] = [];
  let length = 0;
  while (length < 2) {
    const r = await source.next();
    if (r.done === true) break;
    first.push(r.value);
    length += r.value.length;
  }
  const text = prepend(first, source);
  const compressed = isGzip(Buffer.concat(first));
  return {
    text: compressed ? gunzip(text, maxDecompressedBytes, maxDecompressionRatio) : text,
    compressed,
  };
}

/** The first ≥ 64 KiB of text, as the chunks it came in; `ended` when that was the whole file. */
async function readHead(text: AsyncIterator<Buffer>): Promise<{ chunks: Buffer[]; ended: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < HEAD_BYTES) {
    const r = await text.next();
    if (r.done === true) return { chunks, ended: true };
    chunks.push(r.value);
    length += r.value.length;
  }
  return { chunks, ended: false };
}

/**
 * Feeds the reader ≤ 64 KiB at a time, reports progress, honours the abort signal and turns
 * the event loop at least every ~15 ms, so heartbeats and timers keep running.
 */
class SliceFeeder {
  private lastYield = performance.now();

  constructor(
    private readonly reader: RecordReader,
    private readonly counted: CountedSource,
    private readonly hooks: AnalyzeHooks,
  ) {}

  async chunk(chunk: Buffer): Promise<void> {
    for (let off = 0; off < chunk.length; off += SLICE_BYTES) {
      await this.slice(chunk.subarray(off, Math.min(chunk.length, off + SLICE_BYTES)), false);
    }
  }

  end(): Promise<void> {
    return this.slice(undefined, true);
  }

  private async slice(buf: Buffer | undefined, end: boolean): Promise<void> {
    const { onProgress, signal } = this.hooks;
    this.reader.write(buf, end);
    onProgress?.({ bytesProcessed: this.counted.bytes, rowsProcessed: this.reader.rows });
    signal?.throwIfAborted();
    if (performance.now() - this.lastYield >= YIELD_EVERY_MS) {
      await yieldToLoop();
      this.lastYield = performance.now();
      signal?.throwIfAborted();
    }
  }
}

/**
 * Fails when one currency's months span more than MAX_MONTHS: the series and the cohorts
 * grow with the span, not with the data, and no real export spans 50 years.
 */
function checkMonthSpan(agg: AggregateView): void {
  for (const totals of agg.currencies.values()) {
    if (totals.transactions === 0) continue;
    const span = monthOfDay(totals.maxDay) - monthOfDay(totals.minDay) + 1;
    if (span <= MAX_MONTHS) continue;
    const where = `lines ${agg.firstDayLine} and ${agg.lastDayLine}`;
    throw fileError(
      'INVALID_CSV',
      `The dates run from ${formatDay(agg.firstDay)} (line ${agg.firstDayLine}) to ${formatDay(agg.lastDay)} (line ${agg.lastDayLine}): ${span} months, more than the ${MAX_MONTHS} (50 years) Tally reports. Check the dates of those rows, or map the right column with options.columns.date.`,
      `The dates span ${span} months, more than the ${MAX_MONTHS} (50 years) Tally reports. Check the dates at ${where}, or map the right column with options.columns.date.`,
    );
  }
}

/** Validates the result; a failure is a bug or an input no bound caught, never worth a retry. */
export function validated(analysis: unknown): RevenueAnalysis {
  try {
    return revenueAnalysisSchema.parse(analysis);
  } catch (error) {
    if (!(error instanceof ZodError)) throw error;
    const paths = [...new Set(error.issues.map((i) => i.path.join('.')))].slice(0, 5).join(', ');
    throw new TallyError(
      'INVALID_CSV',
      `The analysis of this file produced figures a result cannot hold (at ${paths}). Please report this with the file; retrying will not help.`,
    );
  }
}

/** The result from an aggregation (one pass's, or a split file's merge): checks, figures, advice. */
export async function assemble(
  agg: AggregateView,
  head: HeadAnalysis,
  input: AnalyzeInput,
  signal: AbortSignal | undefined,
): Promise<RevenueAnalysis> {
  // The columns as the aggregator resolved them from the first 1,000 records (v1.2 passes
  // over empty candidates and infers a date column), which the 64 KiB head may not match.
  const columns = agg.total > 0 ? agg.columnNames : head.columns;
  const ctx = { columns, delimiter: head.delimiter, encoding: head.encoding };
  if (agg.valid === 0) throw noValidRows(agg, ctx);
  checkMonthSpan(agg);
  // Between partitions of a spilled table's merge: a turn of the event loop, a cancel check.
  const pause = async (): Promise<void> => {
    await yieldToLoop();
    signal?.throwIfAborted();
  };
  const analysis = await buildAnalysis(
    agg,
    {
      filename: input.filename,
      bytes: input.bytes,
      delimiter: head.delimiter,
      columns,
      encoding: head.encoding,
      dateFormat: agg.dateReading.reported,
      timeZone: input.options.timeZone ?? null,
      categories: agg.categories(),
    },
    pause,
  );
  return validated({
    ...analysis,
    rows: mostRowsRejected(agg) ? { ...analysis.rows, advice: adviceFor(agg, ctx).help } : analysis.rows,
  });
}

/**
 * Reads a revenue CSV (optionally gzip) from `source` in one pass and returns its analysis
 * (docs/reference.md, "Reading a file"). Memory is bounded by distinct customers/products/regions and by
 * `maxRecordBytes`, not by the file. Work is cut into ≤ 64 KiB slices with a turn of the
 * event loop at least every ~15 ms; `signal` is checked per slice.
 *
 * Throws TallyError INVALID_CSV (not CSV text, no header, no date/amount column, a record
 * over `maxRecordBytes`, corrupt gzip, dates spanning more than MAX_MONTHS),
 * DECOMPRESSED_TOO_LARGE, NO_VALID_ROWS, or `signal.reason` when aborted.
 */
export async function analyzeCsvStream(
  source: AsyncIterable<Buffer>,
  input: AnalyzeInput,
  hooks: AnalyzeHooks = {},
): Promise<RevenueAnalysis> {
  hooks.signal?.throwIfAborted();
  const counted = new CountedSource(source);
  const bytes = await textBytes(
    counted.chunks,
    hooks.maxDecompressedBytes ?? 8 * 1024 ** 3,
    hooks.maxDecompressionRatio,
  );
  const text = bytes.text[Symbol.asyncIterator]();
  try {
    // The head decides the dialect, the encoding and the columns (as the upload route does).
    const head = await readHead(text);
    const headBytes = Buffer.concat(head.chunks).subarray(0, HEAD_BYTES);
    if (bytes.compressed) refuseNestedGzip(headBytes); // as the upload check does: one gzip layer only
    const headAnalysis = analyzeHead(headBytes, input.options);
    const reader = new RecordReader({
      delimiter: headAnalysis.delimiter,
      encoding: headAnalysis.encoding,
      encodingProvisional: encodingIsProvisional(headBytes, input.options.encoding),
      options: input.options,
      maxRecordBytes: hooks.maxRecordBytes ?? MiB,
      ...(hooks.spill ? { spill: hooks.spill } : {}),
    });
    const feeder = new SliceFeeder(reader, counted, hooks);
    for (const chunk of head.chunks) await feeder.chunk(chunk);
    if (!head.ended) {
      for (let r = await text.next(); r.done !== true; r = await text.next()) await feeder.chunk(r.value);
    }
    await feeder.end();
    const agg = reader.finish();
    await yieldToLoop();
    hooks.signal?.throwIfAborted();
    return await assemble(agg, { ...headAnalysis, encoding: reader.encoding }, input, hooks.signal);
  } finally {
    await text.return?.();
  }
}
