/**
 * The aggregator alone (no csv-parse in the timed loop) over the bench file's first N rows,
 * parsed beforehand: for instruction and cache counts that a shared machine's load does not
 * change (docs/performance.md, P2 per-row path). Bundle it, then run it under cachegrind with
 * 1 and 3 runs and subtract, so start-up and the first JIT pass drop out:
 *
 *   npx esbuild bench/support/aggregator-alone.ts --bundle --platform=node --format=esm --outfile=/tmp/agg.mjs
 *   valgrind --tool=cachegrind --cache-sim=yes --smc-check=all-non-file node /tmp/agg.mjs 100000 3
 *
 * Without valgrind it prints ns per row (wall) for each run.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { RevenueAggregator } from '../../src/analysis/aggregate/aggregator.ts';

const rows = Number(process.argv[2] ?? 300_000);
const runs = Number(process.argv[3] ?? 7);
// The 1M-row file `npx tsx bench/analysis.bench.ts` generates (lib/revenue-csv.ts).
const text = readFileSync(join(tmpdir(), 'tally-bench-revenue-v2-1000000.csv'));
let end = 0;
for (let i = 0; i <= rows; i++) end = text.indexOf(10, end) + 1;
const records: string[][] = parse(text.subarray(0, end), { relax_column_count: true });
const header = records.shift()!;
const times: number[] = [];
for (let r = 0; r < runs; r++) {
  const t = performance.now();
  const agg = new RevenueAggregator({ header, options: {}, delimiter: ',' });
  for (let i = 0; i < records.length; i++) agg.add(records[i]!, i + 2);
  agg.end();
  times.push(performance.now() - t);
}
console.log(
  `aggregator alone, ns per row: ${times.map((ms) => Math.round((ms * 1e6) / records.length)).join(' ')}`,
);
