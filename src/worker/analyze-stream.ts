import { Readable, pipeline } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { Parser } from 'csv-parse';
import type { CsvError, Options as CsvOptions } from 'csv-parse';
import { TallyError } from '../errors.ts';
import { RevenueAggregator } from '../analysis/aggregator.ts';
import { resolveColumns } from '../analysis/columns.ts';
import { HEAD_BYTES, isGzip } from '../analysis/dialect.ts';
import { analyzeHead } from '../analysis/head.ts';
import { buildAnalysis } from '../analysis/build-analysis.ts';
import type { JobOptions } from '../analysis/options.ts';
import { revenueAnalysisSchema } from '../analysis/result.ts';
import type { RevenueAnalysis } from '../analysis/result.ts';
import type { SpillSetup } from '../analysis/spill/spill-store.ts';

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
  /** Where per-key tables spill past their threshold; the caller owns (and removes) the store. */
  spill?: SpillSetup;
}

const MiB = 1024 * 1024;
/** csv-parse is fed at most this much per call, so one call stays around 1–2 ms. */
const SLICE_BYTES = 64 * 1024;
/** Longest stretch of synchronous work between two turns of the event loop. */
const YIELD_EVERY_MS = 15;

/** The internal push API of csv-parse's Parser (what its Transform calls per chunk). */
interface CsvPushApi {
  parse(
    buf: Buffer | undefined,
    end: boolean,
    push: (record: string[]) => void,
    close: () => void,
  ): CsvError | Error | undefined;
  info: { lines: number };
}

/**
 * csv-parse options: raw arrays (no `columns`, no `info`, no cast), auto record delimiter
 * (LF, CRLF, CR), BOM stripped, blank lines skipped, a bound on one record so an unclosed
 * quote cannot read the whole file into memory, wrong field counts passed through for us
 * to reject with a line number, stray quotes inside fields kept as text.
 */
export function csvParseOptions(delimiter: string, maxRecordBytes: number): CsvOptions {
  return {
    delimiter,
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    max_record_size: maxRecordBytes,
  };
}

/**
 * The push API of a fresh csv-parse Parser. It calls `push` synchronously per record, so
 * `info.lines` read there is that record's line: the public Transform buffers records, so
 * its `info` is ahead of the record being read unless `info: true` builds an info object
 * per record (measured 20 % slower on the 1M-row bench: 3.2 s against 2.7 s).
 * `Parser#api` is undocumented; this throws at once if a csv-parse upgrade drops it.
 */
export function createCsvPushApi(options: CsvOptions): CsvPushApi {
  const parser = new Parser(options) as Parser & { api?: CsvPushApi };
  const api = parser.api;
  if (api === undefined || typeof api.parse !== 'function') {
    throw new Error('csv-parse no longer exposes Parser#api; analyze-stream needs updating');
  }
  return api;
}

function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

async function* gunzip(source: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<Buffer> {
  const z = createGunzip();
  pipeline(Readable.from(source), z, () => {
    // Errors reach the consumer through `z` itself.
  });
  let total = 0;
  try {
    for await (const chunk of z as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        throw new TallyError(
          'DECOMPRESSED_TOO_LARGE',
          `The gzip file decompresses to more than ${formatBytes(maxBytes)}. Upload a smaller export or split it.`,
        );
      }
      yield chunk;
    }
  } catch (error) {
    if (isZlibError(error)) {
      throw new TallyError(
        'INVALID_CSV',
        `The gzip data is corrupt or cut off (${(error as Error).message}). Compress the file again and re-upload it.`,
      );
    }
    throw error;
  } finally {
    z.destroy();
  }
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${+(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= MiB) return `${+(n / MiB).toFixed(2)} MiB`;
  return `${n} bytes`;
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

/** Number of CRLF pairs inside a record's fields: csv-parse counts each as two lines. */
function crlfIn(record: readonly string[]): number {
  let n = 0;
  for (const f of record) {
    let i = f.indexOf('\r\n');
    while (i >= 0) {
      n++;
      i = f.indexOf('\r\n', i + 2);
    }
  }
  return n;
}

/**
 * Reads a revenue CSV (optionally gzip) from `source` in one pass and returns its analysis
 * (CONTRACT.md §5). Memory is bounded by distinct customers/products/regions and by
 * `maxRecordBytes`, not by the file. Work is cut into ≤ 64 KiB slices with a turn of the
 * event loop at least every ~15 ms, so heartbeats and timers keep running; `signal` is
 * checked per slice.
 *
 * Throws TallyError INVALID_CSV (not CSV text, no header, no date/amount column, a record
 * over `maxRecordBytes`, corrupt gzip), DECOMPRESSED_TOO_LARGE, NO_VALID_ROWS, or
 * `signal.reason` when aborted.
 */
export async function analyzeCsvStream(
  source: AsyncIterable<Buffer>,
  input: AnalyzeInput,
  hooks: AnalyzeHooks = {},
): Promise<RevenueAnalysis> {
  const { onProgress, signal } = hooks;
  const maxRecordBytes = hooks.maxRecordBytes ?? MiB;
  const maxDecompressedBytes = hooks.maxDecompressedBytes ?? 8 * 1024 ** 3;
  signal?.throwIfAborted();

  let sourceBytes = 0;
  const counted = (async function* () {
    for await (const chunk of source) {
      sourceBytes += chunk.length;
      yield chunk;
    }
  })();

  // Peek at the first two bytes for the gzip magic number.
  const firstChunks: Buffer[] = [];
  let firstLength = 0;
  while (firstLength < 2) {
    const r = await counted.next();
    if (r.done === true) break;
    firstChunks.push(r.value);
    firstLength += r.value.length;
  }
  const firstBytes = Buffer.concat(firstChunks);
  let text: AsyncIterable<Buffer> = prepend(firstChunks, counted);
  if (isGzip(firstBytes)) text = gunzip(text, maxDecompressedBytes);
  const textIterator = text[Symbol.asyncIterator]();

  try {
    // The head decides the dialect and the columns (same checks as the upload route).
    const headChunks: Buffer[] = [];
    let headLength = 0;
    let ended = false;
    while (headLength < HEAD_BYTES) {
      const r = await textIterator.next();
      if (r.done === true) {
        ended = true;
        break;
      }
      headChunks.push(r.value);
      headLength += r.value.length;
    }
    const head = Buffer.concat(headChunks);
    const headInfo = analyzeHead(head.subarray(0, HEAD_BYTES), input.options);
    const { delimiter } = headInfo;

    const api = createCsvPushApi(csvParseOptions(delimiter, maxRecordBytes));
    let aggregator: RevenueAggregator | null = null;
    let header: string[] | null = null;
    let prevLines = 0;
    let crlfCorrection = 0;
    let lastEndLine = 0;

    const push = (record: string[]): void => {
      const lines = api.info.lines;
      let endLine = lines - crlfCorrection;
      if (lines - prevLines !== 1) {
        // A record spanning lines (or blank lines before it): undo csv-parse's double
        // count of CRLF inside quoted fields so line numbers stay physical.
        const extra = crlfIn(record);
        crlfCorrection += extra;
        endLine -= extra;
      }
      prevLines = lines;
      lastEndLine = endLine;
      if (aggregator !== null) {
        aggregator.add(record, endLine);
        return;
      }
      header = record;
      aggregator = new RevenueAggregator({
        header: record,
        columns: resolveColumns(record, input.options),
        options: input.options,
        delimiter,
        ...(hooks.spill ? { spill: hooks.spill } : {}),
      });
    };
    const close = (): void => {};

    let lastYield = performance.now();
    const feed = async (buf: Buffer | undefined, end: boolean): Promise<void> => {
      const error = api.parse(buf, end, push, close);
      if (error !== undefined) handleCsvError(error);
      if (onProgress !== undefined) {
        onProgress({ bytesProcessed: sourceBytes, rowsProcessed: aggregator?.total ?? 0 });
      }
      signal?.throwIfAborted();
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await yieldToLoop();
        lastYield = performance.now();
        signal?.throwIfAborted();
      }
    };

    const handleCsvError = (error: Error): void => {
      const code = (error as Partial<CsvError>).code;
      const startLine = lastEndLine + 1;
      if (code === 'CSV_MAX_RECORD_SIZE') {
        throw new TallyError(
          'INVALID_CSV',
          `line ${startLine}: a record is longer than ${formatBytes(maxRecordBytes)}, most likely a quote (") that is never closed. Check the quotes from line ${startLine} on.`,
        );
      }
      if (code === 'CSV_QUOTE_NOT_CLOSED' && aggregator !== null) {
        // The file ended inside a quoted field: reject that last record and keep the rest.
        aggregator.total++;
        aggregator.rejected++;
        if (aggregator.samples.length < 100) {
          aggregator.samples.push({
            line: startLine,
            reason: 'a quote (") opened in this row is never closed before the end of the file',
          });
        }
        return;
      }
      if (error instanceof TallyError) throw error;
      if (code !== undefined) {
        throw new TallyError('INVALID_CSV', `line ${startLine}: ${error.message}`);
      }
      throw error;
    };

    const slices = async (chunk: Buffer): Promise<void> => {
      for (let off = 0; off < chunk.length; off += SLICE_BYTES) {
        await feed(chunk.subarray(off, Math.min(chunk.length, off + SLICE_BYTES)), false);
      }
    };

    for (const chunk of headChunks) await slices(chunk);
    if (!ended) {
      for (;;) {
        const r = await textIterator.next();
        if (r.done === true) break;
        await slices(r.value);
      }
    }
    await feed(undefined, true);

    const agg = aggregator as RevenueAggregator | null;
    if (agg === null || header === null) {
      throw new TallyError('INVALID_CSV', 'The file has no header row.');
    }
    agg.end();
    if (agg.valid === 0) {
      const first = agg.samples
        .slice(0, 3)
        .map((s) => `line ${s.line}: ${s.reason}`)
        .join('; ');
      throw new TallyError(
        'NO_VALID_ROWS',
        agg.total === 0
          ? 'The file has a header row but no data rows.'
          : `None of the ${agg.total} data rows could be read. First problems: ${first}.`,
        { rejectedSamples: agg.samples.slice(0, 10) },
      );
    }
    await yieldToLoop();
    signal?.throwIfAborted();
    const analysis = await buildAnalysis(
      agg,
      {
        filename: input.filename,
        bytes: input.bytes,
        delimiter,
        columns: resolveColumns(header, input.options).names,
      },
      async () => {
        await yieldToLoop();
        signal?.throwIfAborted();
      },
    );
    return revenueAnalysisSchema.parse(analysis);
  } finally {
    await textIterator.return?.();
  }
}
