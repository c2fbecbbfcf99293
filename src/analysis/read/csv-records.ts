import { Parser } from 'csv-parse';
import type { CsvError, Options as CsvOptions } from 'csv-parse';
import { TallyError } from '../../errors.ts';
import { RevenueAggregator } from '../aggregate/aggregator.ts';
import { LateEncodingCheck, utf8Transcoder } from './encoding.ts';
import { CrCrLf } from './line-ends.ts';
import { formatBytes } from '../../lib/format-bytes.ts';
import type { JobOptions } from '../options.ts';
import type { SpillSetup } from '../spill/spill-store.ts';
import type { FormatDecision } from '../values/format-decision.ts';

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
export function csvParseOptions(
  delimiter: string,
  maxRecordBytes: number,
  recordDelimiter?: '\n' | '\r\n',
): CsvOptions {
  return {
    delimiter,
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    max_record_size: maxRecordBytes,
    // Always present, undefined for csv-parse to discover: csv-parse copies the options it
    // is given in their order before it adds its defaults, so a key only some parsers get
    // gives their options object another shape, and its parse loop, seeing both in one
    // process, runs slower for every parser after; so does a parser that discovered the
    // delimiter (a branch the others never take). A split part parsed 6.7M rows in 17.0 s
    // in a fresh process, 20.5–20.7 s after a head decision without the key had run in the
    // same process, 19.0 s with the key but discovering, 17.8 s with the delimiter given.
    record_delimiter: recordDelimiter,
  };
}

/**
 * The methods of csv-parse's push API, taken from the first one made in this process and
 * shared by every later one (see createCsvPushApi).
 */
let sharedMethods: object | null = null;

/**
 * The push API of a fresh csv-parse Parser. It calls `push` synchronously per record, so
 * `info.lines` read there is that record's line: the public Transform buffers records, so
 * its `info` is ahead of the record being read unless `info: true` builds an info object
 * per record (measured 20 % slower on the 1M-row bench: 3.2 s against 2.7 s).
 * `Parser#api` is undocumented; this throws at once if a csv-parse upgrade drops it.
 *
 * csv-parse builds each parser's API as an object literal holding its own copy of every
 * method (`parse`, `__needMoreData`, `__isQuote`, …). V8 can take the methods of the first
 * such object for constants and inline them into the parse loop; the copies of a second
 * parser leave it calls of unknown functions (our reading of a CPU profile, where the whole
 * difference was `parse`'s own time), and the loop ran slower for every parser after the
 * first in a process: a 265 MB part of the 1 GiB bench file parsed in 8.9–9.2 s in a fresh
 * process, 10.0–10.2 s after a split plan's head decision and 10.3–11.6 s after a 4 MB
 * one-pass analysis had run there (2026-12-06, `node --import tsx`, alternating). So every
 * API made here is the parser's own state (`info`, `options`, `state`, in csv-parse's
 * order) on top of one shared set of methods, which use nothing but `this` (csv-parse 7:
 * test/analysis/csv-push-api.test.ts feeds two parsers in turn and checks each reads as if
 * alone).
 */
export function createCsvPushApi(options: CsvOptions): CsvPushApi {
  const parser = new Parser(options) as Parser & { api?: CsvPushApi };
  const api = parser.api as (CsvPushApi & Record<string, unknown>) | undefined;
  if (api === undefined || typeof api.parse !== 'function') {
    throw new Error('csv-parse no longer exposes Parser#api; csv-records.ts needs updating');
  }
  sharedMethods ??= methodsOf(api);
  const own = Object.create(sharedMethods) as Record<string, unknown>;
  for (const key of Object.keys(api)) if (typeof api[key] !== 'function') own[key] = api[key];
  return own as unknown as CsvPushApi;
}

function methodsOf(api: Record<string, unknown>): object {
  const methods: Record<string, unknown> = {};
  for (const key of Object.keys(api)) if (typeof api[key] === 'function') methods[key] = api[key];
  return methods;
}

/**
 * Physical line breaks inside a record's fields (CRLF, LF or CR each count one), and how
 * many of them are CRLF pairs (csv-parse counts each of those as two lines).
 */
export function lineBreaksIn(record: readonly string[]): { breaks: number; crlf: number } {
  let breaks = 0;
  let crlf = 0;
  for (const field of record) {
    for (let i = 0; i < field.length; i++) {
      const c = field.charCodeAt(i);
      if (c === 10) breaks++;
      else if (c === 13) {
        breaks++;
        if (field.charCodeAt(i + 1) === 10) {
          crlf++;
          i++;
        }
      }
    }
  }
  return { breaks, crlf };
}

/**
 * csv-parse's push API wants a `close` callback; it calls it only when it stops early (the
 * `to`/`to_line` options, not used here) or on input that is empty to its end, and there is
 * nothing to release then: the aggregator is simply never created.
 */
const noClose = (): void => undefined;

export interface RecordReaderSetup {
  delimiter: string;
  encoding: string;
  /** The head was plain ASCII without a BOM or option: the first non-ASCII bytes decide. */
  encodingProvisional: boolean;
  options: JobOptions;
  maxRecordBytes: number;
  /** Where per-key tables spill past their threshold (none: all in memory). */
  spill?: SpillSetup;
  /** A later part of a file split for parallel analysis (split/analyze-part.ts). */
  part?: PartStart;
  /**
   * The file's record delimiter when it is known already (a split file's plan found it),
   * for a reader that starts at the head: csv-parse then need not discover it, and every
   * parser in a process shares one shape (see csvParseOptions). Without it, discovered.
   */
  recordDelimiter?: '\n' | '\r\n';
}

/** Where a later part of a split file starts: on a record, after the head was decided. */
export interface PartStart {
  readonly header: string[];
  readonly decision: FormatDecision;
  /** The file's record delimiter, as csv-parse discovered it at the start of the file. */
  readonly recordDelimiter: '\n' | '\r\n';
}

/**
 * Bytes in, records out: transcodes to UTF-8 when the file is in another encoding, parses
 * with csv-parse's push API, numbers each record with the physical line it starts on, and
 * hands the header and every other record to the aggregator (which resolves the columns
 * once it has seen the head: v1.2 passes over empty columns and infers a date column).
 */
export class RecordReader {
  aggregator: RevenueAggregator | null = null;
  /** The encoding the file is read in (`input.encoding`), final after the last `write`. */
  encoding: string;
  private readonly api: CsvPushApi;
  private transcode: ((chunk: Uint8Array | undefined) => Buffer) | null;
  private late: LateEncodingCheck | null;
  private prevLines = 0;
  private crlfCorrection = 0;
  private lastEndLine = 0;
  private readonly push = (record: string[]): void => this.onRecord(record);
  /**
   * The slice's records, with the line each starts on, handed to the aggregator once
   * csv-parse returns rather than from inside its loop: each then runs over hundreds of
   * records at a time with its own code and data in the cache. Same process, alternating,
   * 1M-row bench: 3.67 → 3.52 s and 3.92 → 3.85 s CPU per analysis (medians of 5), 8 of 10
   * pairs faster. Holds one slice's records (≤ 64 KiB of text) at a time.
   */
  private readonly records: string[][] = [];
  private readonly recordLines: number[] = [];
  private readonly lineEnds = new CrCrLf();
  /** csv-parse stopped inside a quoted field at the end (a part must end on a record). */
  endedInQuote = false;

  constructor(private readonly setup: RecordReaderSetup) {
    const part = setup.part;
    this.api = createCsvPushApi(
      csvParseOptions(setup.delimiter, setup.maxRecordBytes, part?.recordDelimiter ?? setup.recordDelimiter),
    );
    this.encoding = setup.encoding;
    this.transcode = utf8Transcoder(setup.encoding);
    this.late = setup.encodingProvisional ? new LateEncodingCheck() : null;
    if (part !== undefined) {
      const { options, delimiter, spill } = setup;
      const { header, decision } = part;
      this.aggregator = new RevenueAggregator({
        header,
        options,
        delimiter,
        decision,
        ...(spill ? { spill } : {}),
      });
    }
  }

  /** The encoding is final: given, or decided by the first non-ASCII bytes of a provisional one. */
  get encodingDecided(): boolean {
    return this.late === null;
  }

  /**
   * After the last `write` of bytes that end in a line break: the lines before a record that
   * would follow, as this reader would number it (csv-parse's count, less its double count
   * of CRLFs in quoted fields, less the one line it adds when the input ends). A split file's
   * part reports it, and the merge adds it to every line number of the parts after: the
   * counts add up across a cut on a record start (csv-parse's state there is a fresh one's),
   * so the parts number lines as one pass does, whatever csv-parse makes of a CR or a lone
   * LF (test/parallel/split-identical.test.ts).
   */
  get linesAtEnd(): number {
    return this.api.info.lines - this.crlfCorrection - 1;
  }

  /** Data records read so far (valid and rejected). */
  get rows(): number {
    return this.aggregator?.total ?? 0;
  }

  /** Parses one slice of the file; `undefined` with `end` flushes the last record. */
  write(bytes: Buffer | undefined, end: boolean): void {
    const buf = this.lineEnds.filter(
      this.transcoded(this.late === null ? bytes : this.checked(bytes, end), end),
      end,
    );
    const error = this.api.parse(buf, end, this.push, noClose);
    this.handOn();
    if (error !== undefined) this.onCsvError(error);
  }

  private checked(bytes: Buffer | undefined, end: boolean): Buffer | undefined {
    const late = this.late!;
    const buf = late.accept(bytes, end);
    if (late.decided) {
      this.late = null;
      this.encoding = late.encoding;
      this.transcode = utf8Transcoder(late.encoding);
    }
    return buf;
  }

  private transcoded(bytes: Buffer | undefined, end: boolean): Buffer | undefined {
    const transcode = this.transcode;
    if (transcode === null) return bytes;
    if (!end) return bytes === undefined ? undefined : transcode(bytes);
    return bytes === undefined
      ? transcode(undefined)
      : Buffer.concat([transcode(bytes), transcode(undefined)]);
  }

  /** The aggregator after the last record; throws when the file had no header row. */
  finish(): RevenueAggregator {
    const agg = this.aggregator;
    if (agg === null) throw new TallyError('INVALID_CSV', 'The file has no header row.');
    agg.end();
    return agg;
  }

  private onRecord(record: string[]): void {
    const lines = this.api.info.lines;
    let endLine = lines - this.crlfCorrection;
    let startLine = endLine;
    if (lines - this.prevLines !== 1) {
      // A record spanning lines (or blank lines before it): undo csv-parse's double count
      // of CRLF inside quoted fields so line numbers stay physical.
      const { breaks, crlf } = lineBreaksIn(record);
      this.crlfCorrection += crlf;
      endLine -= crlf;
      startLine = endLine - breaks;
    }
    this.prevLines = lines;
    this.lastEndLine = endLine;
    this.records.push(record);
    this.recordLines.push(startLine);
  }

  /** Gives the slice's records to the aggregator, in order; the first record of the file is the header. */
  private handOn(): void {
    const records = this.records;
    const lines = this.recordLines;
    const n = records.length;
    let i = 0;
    if (this.aggregator === null && n > 0) {
      const { options, delimiter, spill } = this.setup;
      this.aggregator = new RevenueAggregator({
        header: records[0]!,
        options,
        delimiter,
        ...(spill ? { spill } : {}),
      });
      i = 1;
    }
    const agg = this.aggregator;
    for (; i < n; i++) agg!.add(records[i]!, lines[i]!);
    records.length = 0;
    lines.length = 0;
  }

  private onCsvError(error: Error): void {
    const code = (error as Partial<CsvError>).code;
    const startLine = this.lastEndLine + 1;
    if (code === 'CSV_MAX_RECORD_SIZE') {
      throw new TallyError(
        'INVALID_CSV',
        `line ${startLine}: a record is longer than ${formatBytes(this.setup.maxRecordBytes)}, most likely a quote (") that is never closed. Check the quotes from line ${startLine} on.`,
      );
    }
    if (code === 'CSV_QUOTE_NOT_CLOSED' && this.aggregator !== null) {
      // The file ended inside a quoted field: reject that last record and keep the rest.
      this.endedInQuote = true;
      this.aggregator.rejectUnclosedQuote(startLine);
      return;
    }
    if (error instanceof TallyError) throw error;
    if (code !== undefined) {
      // csv-parse's messages can quote the field they stopped at: that stays out of the
      // job's error_message (details.help has it).
      throw new TallyError('INVALID_CSV', `line ${startLine}: ${error.message}`, {
        summary: `line ${startLine}: the CSV cannot be parsed there (${code}).`,
      });
    }
    throw error;
  }
}
