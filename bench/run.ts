/**
 * `npm run bench`: every goal of the performance issue, each printed beside a floor
 * measured in the same run (the machines are shared and noisy: ratios, not absolutes),
 * with PASS/FAIL, and written to bench/results/latest.json.
 *   --quick   seconds-long smoke sizes
 *   --only P1,P3   run some parts (C: the cardinality part; P1s, P2s: the S3 store's;
 *                  T: one small job as a client sees it;
 *                  S1, S2, F1, F0: PostgreSQL as teams run it; R: R1 and R2, status over SSE;
 *                  W1, T1: webhooks' and tracing's cost on P5)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runAnalysisBenchInChild } from './analysis.bench.ts';
import { runCardinalityBench } from './cardinality.bench.ts';
import { runFailoverBench } from './failover.bench.ts';
import { runFairShareBench } from './fair-share.bench.ts';
import { runMillionJobsBench } from './million-jobs.bench.ts';
import { runOneJobBench } from './one-job.bench.ts';
import { runPickupBench } from './pickup.bench.ts';
import { runPoolerBench } from './pooler.bench.ts';
import { runTracingOverheadBench, runWebhookOverheadBench } from './integrations.bench.ts';
import { runRealtimeBench } from './realtime.bench.ts';
import { runS3UploadBench } from './s3-upload.bench.ts';
import { runSmallJobsBench } from './small-jobs.bench.ts';
import { runSplitBench } from './split.bench.ts';
import { runStatusBench } from './status.bench.ts';
import { benchServer } from './support/database.ts';
import { writePerformanceTable } from './support/performance-table.ts';
import { printTable, type GoalResult } from './support/report.ts';
import { argFlag, round } from './support/stats.ts';
import { runUploadBench } from './upload.bench.ts';
import { runS3WorkerPathBench, runWorkerPathBench } from './worker-path.bench.ts';

const quick = argFlag('--quick');
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg > 0 ? new Set((process.argv[onlyArg + 1] ?? '').split(',')) : undefined;
const wanted = (id: string) => !only || only.has(id);
const log = (line: string) => console.log(line);

const server = await benchServer();
const results: GoalResult[] = [];
const started = Date.now();
try {
  if (wanted('P1')) {
    results.push(...(await runUploadBench(server, { quick, log })));
  }
  if (wanted('P1s')) results.push(...(await runS3UploadBench(server, { quick, log })));
  if (wanted('P2')) {
    const analysis = await runAnalysisBenchInChild({
      rows: quick ? 50_000 : 1_000_000,
      // Seven pairs in turn (csv-parse alone, then the analysis, then the other way round).
      runs: quick ? 1 : 7,
      log,
      competitors: true,
    });
    const parse = analysis.measurements.find((m) => m.name.startsWith('(b)'));
    const full = analysis.measurements.find((m) => m.name.startsWith('(c)'));
    results.push({
      id: 'P2',
      what: `full analysis, ${analysis.file.rows.toLocaleString('en-US')} rows`,
      value: round(full?.rowsPerSec ?? Number.NaN, 0),
      unit: 'rows/s',
      floor: {
        what: 'csv-parse alone, raw arrays, in turn with it, rows/s',
        value: round(parse?.rowsPerSec ?? Number.NaN, 0),
      },
      ratio: round(analysis.ratio),
      goal: '≥ 0.8× floor',
      pass: analysis.pass,
      note: `peak RSS ${analysis.peakRssMb.end} MB (goal ≤ 256 MB); measured from a file stream, not the stored chunks`,
    });
  }
  if (wanted('P2')) results.push(...(await runWorkerPathBench(server, { quick, log })));
  if (wanted('P2') || wanted('P2s')) results.push(...(await runS3WorkerPathBench(server, { quick, log })));
  if (wanted('C')) results.push(...(await runCardinalityBench(server, { quick, log })));
  if (wanted('P3')) results.push(...(await runPickupBench(server, { quick, log })));
  if (wanted('P4')) results.push(...(await runStatusBench(server, { quick, log })));
  if (wanted('P5')) results.push(...(await runSmallJobsBench(server, { quick, log })));
  if (wanted('S1')) results.push(...(await runMillionJobsBench(server, { quick, log })));
  if (wanted('S2')) results.push(...(await runPoolerBench(server, { quick, log })));
  if (wanted('F1')) results.push(...(await runFairShareBench(server, { quick, log })));
  if (wanted('F0')) results.push(...(await runFailoverBench(server, { quick, log })));
  if (wanted('T')) results.push(...(await runOneJobBench(server, { quick, log })));
  if (wanted('R')) results.push(...(await runRealtimeBench(server, { quick, log })));
  if (wanted('W1')) results.push(...(await runWebhookOverheadBench(server, { quick, log })));
  if (wanted('T1')) results.push(...(await runTracingOverheadBench(server, { quick, log })));
  if (wanted('P6')) results.push(...(await runSplitBench(server, { quick, log })));
} finally {
  await server.stop();
}

log('');
printTable(results, log);
const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
  node: process.version,
  postgres: server.describe,
};
log(
  `\nmachine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.postgres}`,
);
const outDir = path.join(import.meta.dirname, 'results');
await mkdir(outDir, { recursive: true });
// Only a full run at full size is the record (latest.json, kept in git, and the table in
// docs/performance.md). A quick or partial run writes partial.json (ignored by git): it used to
// overwrite latest.json, and a commit of it lost the last full run's figures.
const full = !only && !quick;
const outFile = path.join(outDir, full ? 'latest.json' : 'partial.json');
await writeFile(
  outFile,
  `${JSON.stringify({ at: new Date().toISOString(), quick, seconds: Math.round((Date.now() - started) / 1000), machine, results }, null, 2)}\n`,
);
log(`written: bench/results/${path.basename(outFile)} (${Math.round((Date.now() - started) / 1000)} s)`);
if (full) {
  await writePerformanceTable(outFile, path.join(import.meta.dirname, '..', 'docs', 'performance.md'));
  log('written: docs/performance.md (the performance table)');
}
