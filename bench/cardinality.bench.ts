/**
 * Cardinality: exact figures in bounded memory at any number of distinct keys.
 *
 *   npx tsx bench/cardinality.bench.ts [--quick]
 *
 * Generates into a temp dir (deleted after) a 1 GiB file with 10,000,000 distinct customers
 * and 1,000,000 distinct products, and a file of the same size with 100,000 customers and
 * 400 products, then analyses each in a child process started like a worker (its young
 * generation, src/roles/young-generation.ts) with the worker's spill store at the default
 * SPILL_THRESHOLD_KEYS, reading its peak RSS (getrusage maxRSS). Goals: high-cardinality
 * peak RSS ≤ 384 MiB; its speed (MB per CPU second) ≥ 0.5× the 100k-customer file's; the
 * ordinary 1M-row bench file's peak RSS ≤ 256 MiB.
 * --quick: 64 MiB files with the key counts scaled down by 16 (still spilling).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { benchFile, generateCardinalityCsv } from './lib/revenue-csv.ts';
import type { GoalResult } from './support/report.ts';
import { runWorkerLikeScript } from './support/processes.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { round } from './support/stats.ts';

interface ChildResult {
  ms: number;
  cpuMs: number;
  maxRssMiB: number;
  spilledBytes: number;
  rows: number;
  customers: number;
}

function analyzeInChild(file: string, spillRoot: string, thresholdKeys: number): Promise<ChildResult> {
  return runWorkerLikeScript<ChildResult>('bench/support/analyze-file-child.ts', [
    file,
    spillRoot,
    String(thresholdKeys),
  ]);
}

export const runCardinalityBench: BenchPart = async (_server, { quick, log = () => {} }) => {
  const scale = quick ? 16 : 1;
  const bytes = 1024 ** 3 / scale;
  const threshold = loadConfig({}).SPILL_THRESHOLD_KEYS;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-bench-cardinality-'));
  try {
    const spillRoot = path.join(dir, 'spill');
    const high = path.join(dir, 'high.csv');
    const low = path.join(dir, 'low.csv');
    const t0 = performance.now();
    const highRows = await generateCardinalityCsv(high, {
      bytes,
      customers: 10_000_000 / scale,
      products: 1_000_000 / scale,
    });
    const lowRows = await generateCardinalityCsv(low, { bytes, customers: 100_000, products: 400 });
    log(
      `generated 2 × ${(bytes / 1024 ** 2).toFixed(0)} MiB (${highRows.toLocaleString('en-US')} and ${lowRows.toLocaleString('en-US')} rows) in ${Math.round(performance.now() - t0)} ms`,
    );
    const ordinary = await benchFile(quick ? 50_000 : 1_000_000);

    const lowRun = await analyzeInChild(low, spillRoot, threshold);
    log(`100k customers, 400 products:  ${JSON.stringify(lowRun)}`);
    const highRun = await analyzeInChild(high, spillRoot, threshold);
    log(
      `${(10 / scale).toLocaleString('en-US')}M customers, ${1000 / scale}k products: ${JSON.stringify(highRun)}`,
    );
    const ordinaryRun = await analyzeInChild(ordinary.path, spillRoot, threshold);
    log(`ordinary bench file (${ordinary.path}): ${JSON.stringify(ordinaryRun)}`);

    // Speed from the child's CPU time (user + system): on the shared 2-core machine wall time
    // swung ±50 % between identical runs while CPU time stayed within ~20 %. Wall MB/s is
    // in the note.
    const mbps = (r: ChildResult, b: number) => b / 1e6 / (r.cpuMs / 1000);
    const wall = (r: ChildResult, b: number) => round(b / 1e6 / (r.ms / 1000), 1);
    const highBytes = (await stat(high)).size;
    const lowBytes = (await stat(low)).size;
    const ratio = mbps(highRun, highBytes) / mbps(lowRun, lowBytes);
    const size = quick ? '64 MiB, 625k customers, 62.5k products' : '1 GiB, 10M customers, 1M products';
    return [
      {
        id: 'C1',
        what: `worker peak RSS, ${size}`,
        value: highRun.maxRssMiB,
        unit: 'MiB',
        goal: '≤ 384 MiB',
        pass: highRun.maxRssMiB <= 384,
        note: `spilled ${round(highRun.spilledBytes / 1024 ** 2, 0)} MiB at SPILL_THRESHOLD_KEYS=${threshold}`,
      },
      {
        id: 'C2',
        what: `analysis speed (per CPU second), ${size}`,
        value: round(mbps(highRun, highBytes), 1),
        unit: 'MB/s',
        floor: { what: 'same size, 100k customers', value: round(mbps(lowRun, lowBytes), 1) },
        ratio: round(ratio),
        goal: '≥ 0.5× floor',
        pass: ratio >= 0.5,
        note: `wall: ${wall(highRun, highBytes)} against ${wall(lowRun, lowBytes)} MB/s; 100k-customer file: peak RSS ${lowRun.maxRssMiB} MiB`,
      },
      {
        id: 'C3',
        what: `worker peak RSS, ordinary ${ordinaryRun.rows.toLocaleString('en-US')}-row bench file`,
        value: ordinaryRun.maxRssMiB,
        unit: 'MiB',
        goal: '≤ 256 MiB',
        pass: ordinaryRun.maxRssMiB <= 256,
      },
    ] satisfies GoalResult[];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

await runIfMain(import.meta.url, runCardinalityBench);
