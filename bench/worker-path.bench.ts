/**
 * P2 through the real worker path: the benchmark file stored as a job exactly as an
 * upload stores it (P2w: staged 1 MiB rows in PostgreSQL, then the upload transaction;
 * P2s: FILE_STORE=s3, one object in an S3-compatible server), then a real Tally worker
 * process reads the bytes back, analyses them and writes the result row. Timed from the
 * attempt's claim to its final write, as the jobs table records them, beside csv-parse
 * alone on the same file.
 */
import pg from 'pg';
import { startTally } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { readFileChunks } from '../src/files/postgres/read-file-chunks.ts';
import { createLogger } from '../src/logger.ts';
import { csvParseOnly } from './analysis.bench.ts';
import { benchFile } from './lib/revenue-csv.ts';
import type { GoalResult } from './support/report.ts';
import { startRole, stopAll } from './support/processes.ts';
import { startBenchS3 } from './support/s3-server.ts';
import { storeUpload } from './support/store-upload.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { median, round } from './support/stats.ts';

export const runWorkerPathBench: BenchPart = (server, opts) => workerPath(server, opts, 'postgres');
export const runS3WorkerPathBench: BenchPart = (server, opts) => workerPath(server, opts, 's3');

async function workerPath(
  server: Parameters<BenchPart>[0],
  { quick, log = () => {} }: Parameters<BenchPart>[1],
  store: 'postgres' | 's3',
): Promise<GoalResult[]> {
  const rows = quick ? 50_000 : 1_000_000;
  const runs = quick ? 1 : 3;
  const file = await benchFile(rows);
  const s3 = store === 's3' ? await startBenchS3() : undefined;
  // This process's store takes credentials from the SDK's chain, as a deployment does.
  for (const [k, v] of Object.entries(s3?.env ?? {})) if (k.startsWith('AWS_')) process.env[k] ??= v;
  const database = await server.createDatabase();
  // The upload is stored from this process (an API role: the pool and pg-boss, no worker);
  // the job runs in a real worker process of its own, as in production. (In this process
  // it ran in the heap the analysis part left behind, ~500 MB: 0.58x against 0.66-0.69x alone.)
  const config = loadConfig({
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    ...s3?.env,
  });
  const tally = await startTally({
    role: 'api',
    config,
    databaseUrl: database.url,
    log: createLogger('silent'),
  });
  const workerRole = await startRole('worker', database.url, { WORKER_CONCURRENCY: '1', ...s3?.env });
  const sql = new pg.Pool({ connectionString: database.url, max: 2 });
  const workerMs: number[] = [];
  const parseMs: number[] = [];
  const readMs = { binary: [] as number[], hex: [] as number[] };
  try {
    for (let i = 0; i < runs; i++) {
      const { jobId } = await storeUpload(
        { db: tally.db, boss: tally.boss, files: tally.files },
        { path: file.path },
      );
      for (;;) {
        const { rows: r } = await sql.query<{ state: string; ms: number }>(
          `select state, extract(epoch from finished_at - started_at) * 1000 as ms from jobs where id = $1`,
          [jobId],
        );
        if (r[0]?.state === 'completed') {
          workerMs.push(Number(r[0].ms));
          break;
        }
        if (r[0]?.state === 'failed') throw new Error('the benchmark job failed');
        await new Promise((res) => setTimeout(res, 100));
      }
      // The read alone, both ways, on the job's stored chunks (PostgreSQL's store only).
      if (store === 'postgres')
        for (const [how, read] of [
          ['binary', () => readFileChunks(tally.db.pool, jobId)],
          ['hex', () => readChunksAsHex(sql, jobId)],
        ] as const) {
          const t = performance.now();
          for await (const chunk of read()) void chunk;
          readMs[how].push(performance.now() - t);
        }
      // The floor, on the same file in the same run: csv-parse alone, raw arrays.
      const started = performance.now();
      await csvParseOnly(file.path);
      parseMs.push(performance.now() - started);
    }
  } finally {
    await sql.end();
    await stopAll([workerRole.child]);
    await tally.close();
    await database.drop();
    await s3?.stop();
  }
  const worker = rows / (median(workerMs) / 1000);
  const parse = rows / (median(parseMs) / 1000);
  const id = store === 's3' ? 'P2s' : 'P2w';
  const source = store === 's3' ? 'S3 object' : 'stored chunks';
  log(
    `${id} worker path (${source} → analysis → result row): ${round(worker, 0)} rows/s; csv-parse alone ${round(parse, 0)} rows/s`,
  );
  const mbps = (ms: number[]) => round(file.bytes / 1024 ** 2 / (median(ms) / 1000));
  const readNote =
    store === 's3'
      ? 'FILE_STORE=s3 (fauxqs in its own process): the worker streams the object'
      : `reading the stored chunks alone: binary COPY ${mbps(readMs.binary)} MB/s, bytea as hex text (before) ${mbps(readMs.hex)} MB/s`;
  log(`${id} ${readNote}`);
  const result: GoalResult = {
    id,
    what: `worker path from the ${store === 's3' ? 'S3' : 'PostgreSQL'} store, ${rows.toLocaleString('en-US')} rows: stored file → result row`,
    value: round(worker, 0),
    unit: 'rows/s',
    floor: { what: 'csv-parse alone, raw arrays, rows/s', value: round(parse, 0) },
    ratio: round(worker / parse),
    goal: '≥ 0.7× floor',
    pass: worker / parse >= 0.7,
    note: readNote,
  };
  return [result];
}

/** The read the worker did before: one query per chunk, bytea as hex text, one chunk ahead. */
async function* readChunksAsHex(sql: pg.Pool, jobId: string): AsyncGenerator<Buffer> {
  const fetch = (seq: number) =>
    sql.query<{ data: Buffer }>('select data from job_file_chunks where job_id = $1 and seq = $2', [
      jobId,
      seq,
    ]);
  let seq = 0;
  let next = fetch(seq);
  for (;;) {
    const res = await next;
    const row = res.rows[0];
    if (row === undefined) return;
    next = fetch(++seq);
    yield row.data;
  }
}

await runIfMain(import.meta.url, async (server, opts) => [
  ...(await runWorkerPathBench(server, opts)),
  ...(await runS3WorkerPathBench(server, opts)),
]);
