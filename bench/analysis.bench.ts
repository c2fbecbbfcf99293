/**
 * Analysis throughput: how close the full analysis gets to csv-parse alone.
 *
 *   npx tsx bench/analysis.bench.ts              # 1,000,000 rows (~80 MB), 5 runs each
 *   (csv-parse alone and the analysis in turn: see measureInTurn)
 *   npx tsx bench/analysis.bench.ts --rows 20000 --runs 3   # quick smoke
 *
 * Target: analyzeCsvStream ≥ 0.8 × csv-parse alone (rows/s; issue 24 raised it from 0.7).
 * bench/run.ts runs it in a process of its own (`runAnalysisBenchInChild`) for the P2 row.
 *
 * Measured on the 2-vCPU dev VM (1M rows, 78.5 MB): csv-parse alone ~2.6 s (~380k rows/s),
 * full analysis ~3.7 s, ratio 0.74 on a quiet machine and 0.58–0.67 while other test
 * suites ran: the analysis is bound by cache misses on the 50k-customer table and suffers
 * more from a neighbour than csv-parse does. udsv parses the same file in ~0.42 s and
 * papaparse in ~1.0 s; csv-parse is kept for its record-size limit and line numbers.
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import Papa from 'papaparse';
import { Parser } from 'csv-parse';
import { inferSchema, initParser } from 'udsv';
import { analyzeCsvStream, createCsvPushApi, csvParseOptions } from '../src/analysis/analyze-stream.ts';
import { parseDate } from '../src/analysis/values/dates.ts';
import { parseDate as parseDateV1 } from './lib/dates-v1.ts';
import { benchFile } from './lib/revenue-csv.ts';
import { runWorkerLikeScript } from './support/processes.ts';

export interface Measurement {
  name: string;
  medianMs: number;
  runsMs: number[];
  /** Median CPU time (user + system) of a run: what a busy neighbour on a shared machine disturbs least. */
  medianCpuMs: number;
  rows: number;
  rowsPerSec: number;
  mbPerSec: number;
}

export interface DateReaderMeasurement {
  form: string;
  /** ns per date text, median of runs: the v1.0 reader and the v1.1 one, same texts. */
  v1Ns: number;
  v11Ns: number;
  /** v1.1 / v1.0 time: ≤ ~1.1 means the wider reader did not slow the common path. */
  ratio: number;
}

export interface AnalysisBenchResult {
  file: { path: string; bytes: number; rows: number };
  runs: number;
  measurements: Measurement[];
  /** (c) / (b): full analysis rows/s over csv-parse alone rows/s. */
  ratio: number;
  target: number;
  pass: boolean;
  peakRssMb: { beforeAnalysis: number; afterAnalysis: number; end: number };
  analysis: { valid: number; rejected: number; currencies: number };
  dateReader: DateReaderMeasurement[];
}

/**
 * The date reader alone on the forms most files use, v1.0 against v1.1 on the same texts
 * (200k distinct dates, each parsed once per pass: the aggregator's previous-row cache is
 * out of play). Month names and YYYYMMDD had no v1.0 reading: they are timed for v1.1 only.
 */
function dateReaderBench(runs: number, log: (line: string) => void): DateReaderMeasurement[] {
  const n = 200_000;
  const days = Array.from({ length: n }, (_, i) => new Date(Date.UTC(2000, 0, 1 + (i % 9000))));
  const p2 = (x: number) => String(x).padStart(2, '0');
  const forms: [string, (d: Date) => string, boolean][] = [
    ['ISO YYYY-MM-DD', (d) => d.toISOString().slice(0, 10), true],
    ['ISO date-time with zone', (d) => `${d.toISOString().slice(0, 19)}-05:00`, true],
    ['M/D/YYYY', (d) => `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`, true],
    [
      'MM/DD/YYYY HH:MM',
      (d) => `${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())}/${d.getUTCFullYear()} 08:26`,
      true,
    ],
    [
      'M/D/YY H:MM (v1.1 only)',
      (d) => `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${p2(d.getUTCFullYear() % 100)} 8:26`,
      false,
    ],
    [
      'Mon D, YYYY (v1.1 only)',
      (d) => d.toUTCString().slice(8, 11) + ` ${d.getUTCDate()}, ${d.getUTCFullYear()}`,
      false,
    ],
  ];
  let sink = 0;
  const pass = (texts: string[], parse: (s: string) => number): number => {
    const t0 = performance.now();
    for (let i = 0; i < texts.length; i++) sink += parse(texts[i]!) | 0;
    return ((performance.now() - t0) * 1e6) / texts.length;
  };
  const median = (xs: number[]): number => {
    const sorted = [...xs].sort((x, y) => x - y);
    return Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
  };
  const rounds = Math.max(7, runs * 2);
  const out: DateReaderMeasurement[] = [];
  for (const [form, write, inV1] of forms) {
    const texts = days.map(write);
    const v1: number[] = [];
    const v11: number[] = [];
    // Interleaved, alternating which goes first, after a warm-up pass of each: JIT tiers and
    // a busy neighbour hit both readers alike.
    pass(texts, (s) => parseDate(s, 'MDY'));
    if (inV1) pass(texts, (s) => parseDateV1(s, 'MDY'));
    for (let r = 0; r < rounds; r++) {
      if (inV1 && r % 2 === 0) v1.push(pass(texts, (s) => parseDateV1(s, 'MDY')));
      v11.push(pass(texts, (s) => parseDate(s, 'MDY')));
      if (inV1 && r % 2 === 1) v1.push(pass(texts, (s) => parseDateV1(s, 'MDY')));
    }
    const v11Ns = median(v11);
    const v1Ns = inV1 ? median(v1) : NaN;
    const ratio = inV1 ? Math.round((v11Ns / v1Ns) * 100) / 100 : NaN;
    out.push({ form, v1Ns, v11Ns, ratio });
    log(
      `date reader ${form.padEnd(28)} v1.0 ${inV1 ? `${v1Ns} ns` : '—'.padEnd(5)}  v1.1 ${v11Ns} ns${inV1 ? `  ratio ${ratio}` : ''}`,
    );
  }
  if (sink === 0.5) log('unreachable'); // keeps the loops from being optimised away
  return out;
}

const SLICE = 64 * 1024;
const peakRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

/** (a): the file's bytes through a read stream; counts line feeds so rows/s compares. */
async function readOnly(path: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
  }
  return lines - 1;
}

/** (b): csv-parse push API, raw arrays, reading info.lines per record — what (c) does. */
export async function csvParseOnly(path: string): Promise<number> {
  const api = createCsvPushApi(csvParseOptions(',', 1024 * 1024));
  let records = 0;
  let lines = 0;
  const push = (): void => {
    records++;
    lines = api.info.lines;
  };
  const noop = (): void => {};
  let lastYield = performance.now();
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    for (let off = 0; off < buf.length; off += SLICE) {
      const err = api.parse(buf.subarray(off, off + SLICE), false, push, noop);
      if (err) throw err;
      if (performance.now() - lastYield > 15) {
        await yieldToLoop();
        lastYield = performance.now();
      }
    }
  }
  const err = api.parse(undefined, true, push, noop);
  if (err) throw err;
  if (lines < records) throw new Error('line count went wrong');
  return records - 1;
}

/** csv-parse through its Transform stream with `info: true` (the documented way to get lines). */
async function csvParseStreamInfo(path: string): Promise<number> {
  const parser = new Parser({ ...csvParseOptions(',', 1024 * 1024), info: true });
  let records = 0;
  createReadStream(path).pipe(parser);
  for await (const rec of parser as AsyncIterable<{ info: { lines: number } }>) {
    if (rec.info.lines > 0) records++;
  }
  return records - 1;
}

/** Same, raw arrays, reading parser.info.lines per record. */
async function csvParseStreamRaw(path: string): Promise<number> {
  const parser = new Parser(csvParseOptions(',', 1024 * 1024));
  let records = 0;
  let lines = 0;
  createReadStream(path).pipe(parser);
  for await (const _rec of parser as AsyncIterable<string[]>) {
    records++;
    lines = parser.info.lines;
  }
  if (lines < records) throw new Error('line count went wrong');
  return records - 1;
}

async function udsvOnly(path: string): Promise<number> {
  const decoder = new StringDecoder('utf8');
  let parser: ReturnType<typeof initParser> | null = null;
  let records = 0;
  const onRow = (): void => {
    records++;
  };
  for await (const chunk of createReadStream(path)) {
    const s = decoder.write(chunk as Buffer);
    parser ??= initParser(inferSchema(s));
    parser.chunk<string[]>(s, parser.stringArrs, onRow);
  }
  parser?.end();
  return records;
}

function papaOnly(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let records = 0;
    Papa.parse(createReadStream(path), {
      chunk: (results: Papa.ParseResult<string[]>) => {
        records += results.data.length;
      },
      complete: () => resolve(records - 1),
      error: (e: Error) => reject(e),
    });
  });
}

interface Sample {
  ms: number;
  cpuMs: number;
  rows: number;
}

async function sample(fn: () => Promise<number>): Promise<Sample> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const rows = await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, rows };
}

function summarise(name: string, samples: Sample[], bytes: number): Measurement {
  const mid = <T>(xs: T[], by: (x: T) => number): number =>
    by([...xs].sort((x, y) => by(x) - by(y))[Math.floor(xs.length / 2)]!);
  const medianMs = mid(samples, (s) => s.ms);
  const rows = samples.at(-1)!.rows;
  return {
    name,
    medianMs: Math.round(medianMs),
    medianCpuMs: Math.round(mid(samples, (s) => s.cpuMs)),
    runsMs: samples.map((s) => Math.round(s.ms)),
    rows,
    rowsPerSec: Math.round((rows / medianMs) * 1000),
    mbPerSec: Math.round((bytes / 1e6 / medianMs) * 1000 * 10) / 10,
  };
}

async function measure(
  name: string,
  runs: number,
  bytes: number,
  fn: () => Promise<number>,
): Promise<Measurement> {
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) samples.push(await sample(fn));
  return summarise(name, samples, bytes);
}

/**
 * Two measurements taken in turn (b c, c b, b c, …), not one block after the other. This
 * host's speed drifts by more than the margin the ratio is judged on: csv-parse alone read
 * 2,301 and 3,564 ms as medians of two blocks run minutes apart (2026-12-06 17:01, load
 * ~1.1), and a floor measured in the block before the analysis carried that drift into the
 * ratio (0.56× and 0.81× for the same code within five minutes). In turn, both medians are
 * drawn from the same minutes.
 */
async function measureInTurn(
  runs: number,
  bytes: number,
  first: { name: string; fn: () => Promise<number> },
  second: { name: string; fn: () => Promise<number> },
): Promise<[Measurement, Measurement]> {
  const a: Sample[] = [];
  const b: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      a.push(await sample(first.fn));
      b.push(await sample(second.fn));
    } else {
      b.push(await sample(second.fn));
      a.push(await sample(first.fn));
    }
  }
  return [summarise(first.name, a, bytes), summarise(second.name, b, bytes)];
}

export async function runAnalysisBench(opts: AnalysisBenchOptions = {}): Promise<AnalysisBenchResult> {
  const rows = opts.rows ?? 1_000_000;
  const runs = opts.runs ?? 5;
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  const file = await benchFile(rows);
  if (file.generated) log(`generated ${file.path} in ${Math.round(performance.now() - t0)} ms`);
  log(`file: ${file.path} (${(file.bytes / 1e6).toFixed(1)} MB, ${rows} rows), median of ${runs} runs`);

  const measurements: Measurement[] = [];
  const show = (m: Measurement): void =>
    log(
      `${m.name.padEnd(56)} ${String(m.medianMs).padStart(6)} ms  ${String(m.rowsPerSec).padStart(9)} rows/s  ${String(m.mbPerSec).padStart(6)} MB/s  cpu ${m.medianCpuMs} ms`,
    );
  const run = async (name: string, fn: () => Promise<number>): Promise<Measurement> => {
    const m = await measure(name, runs, file.bytes, fn);
    measurements.push(m);
    show(m);
    return m;
  };

  await run('(a) read file', () => readOnly(file.path));
  const beforeAnalysis = peakRssMb();
  let analysis = { valid: 0, rejected: 0, currencies: 0 };
  const [b, c] = await measureInTurn(
    runs,
    file.bytes,
    { name: '(b) csv-parse alone (push API, raw arrays)', fn: () => csvParseOnly(file.path) },
    {
      name: '(c) analyzeCsvStream (file stream)',
      fn: async () => {
        const result = await analyzeCsvStream(createReadStream(file.path), {
          filename: 'bench.csv',
          bytes: file.bytes,
          options: {},
        });
        analysis = {
          valid: result.rows.valid,
          rejected: result.rows.rejected,
          currencies: result.currencies.length,
        };
        return result.rows.total;
      },
    },
  );
  measurements.push(b, c);
  show(b);
  show(c);
  const afterAnalysis = peakRssMb();
  if (opts.competitors !== false) {
    // For speed only: with buffered records, parser.info.lines is not the line of each record.
    await run('csv-parse Transform stream, raw (lines not per record)', () => csvParseStreamRaw(file.path));
    await run('csv-parse Transform stream, info: true', () => csvParseStreamInfo(file.path));
    await run('udsv parse only (string arrays)', () => udsvOnly(file.path));
    await run('papaparse parse only (stream, chunk)', () => papaOnly(file.path));
  }
  const ratio = Math.round((c.rowsPerSec / b.rowsPerSec) * 1000) / 1000;
  const target = 0.8;
  const pass = ratio >= target;
  log(`ratio (c)/(b) = ${ratio} → ${pass ? 'PASS' : 'FAIL'} (target ≥ ${target})`);
  // On a shared machine wall time swings with the neighbours (0.31–0.60 for the same code
  // at load 14 on 2 cores); CPU time much less. Printed beside it, not instead of it.
  const cpuRatio = Math.round((b.medianCpuMs / c.medianCpuMs) * 1000) / 1000;
  log(`ratio by CPU time (b)/(c) = ${cpuRatio}`);
  const end = peakRssMb();
  log(`peak RSS: ${beforeAnalysis} MB before (b) and (c), ${afterAnalysis} MB after them, ${end} MB at end`);
  log(`analysis: ${analysis.valid} valid, ${analysis.rejected} rejected, ${analysis.currencies} currencies`);
  const dateReader = dateReaderBench(runs, log);
  return {
    file: { path: file.path, bytes: file.bytes, rows },
    runs,
    measurements,
    ratio,
    target,
    pass,
    peakRssMb: { beforeAnalysis, afterAnalysis, end },
    analysis,
    dateReader,
  };
}

export interface AnalysisBenchOptions {
  rows?: number;
  runs?: number;
  log?: (line: string) => void;
  competitors?: boolean;
}

/**
 * `runAnalysisBench` in a node process of its own, started as a worker process is (its young
 * generation, nothing else loaded), its log lines passed on. Run inside `npm run bench`'s
 * own process, after P1 and P1s had run their upload clients there (RSS 336 MB before the
 * analysis against 148 MB on its own), the same 1M-row file read 0.625× and 0.68× in two
 * full runs of 2026-12-06, (a) the plain file read took 300 and 188 ms, and the analysis
 * 3,983 and 3,842 ms; `npx tsx bench/analysis.bench.ts` on its own read 0.755× (154 and
 * 3,083 ms) minutes apart: the analysis suffered from the harness's leftovers, csv-parse
 * alone much less. A worker analyses in a process that holds no such leftovers.
 */
export function runAnalysisBenchInChild(opts: AnalysisBenchOptions = {}): Promise<AnalysisBenchResult> {
  return runWorkerLikeScript<AnalysisBenchResult>(
    'bench/analysis.bench.ts',
    [
      '--result-line',
      ...(opts.rows === undefined ? [] : ['--rows', String(opts.rows)]),
      ...(opts.runs === undefined ? [] : ['--runs', String(opts.runs)]),
      ...(opts.competitors === false ? ['--no-competitors'] : []),
    ],
    opts.log,
  );
}

function argValue(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} needs a positive integer`);
  return v;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runAnalysisBench({
    rows: argValue('--rows'),
    runs: argValue('--runs'),
    competitors: !process.argv.includes('--no-competitors'),
    log: (line) => console.log(line),
  });
  if (process.argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
  if (process.argv.includes('--result-line')) {
    console.log(JSON.stringify(result)); // the last line: runAnalysisBenchInChild's answer
    process.exitCode = 0;
  } else process.exitCode = result.pass ? 0 : 1;
}
