/**
 * One analysis of a CSV file in a process of its own, for peak-RSS measurements: started
 * like a Tally worker (`node --import tsx`, Node's default heap settings), it streams the
 * file through analyzeCsvStream with the worker's spill store and prints one JSON line:
 * { ms, cpuMs, maxRssMiB, spilledBytes, rows, customers }.
 *
 *   node --import tsx bench/support/analyze-file-child.ts <file> <spillRoot> <thresholdKeys>
 */
import { createReadStream } from 'node:fs';
import { statSync } from 'node:fs';
import { FileSpillStore } from '../../src/analysis/spill/file-spill-store.ts';
import { analyzeCsvStream } from '../../src/analysis/analyze-stream.ts';

const [file, spillRoot, threshold] = process.argv.slice(2);
if (file === undefined || spillRoot === undefined || threshold === undefined) {
  throw new Error('usage: analyze-file-child.ts <file> <spillRoot> <thresholdKeys>');
}
const store = new FileSpillStore(spillRoot, 64 * 1024 ** 3);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
try {
  const result = await analyzeCsvStream(
    // The worker reads the stored file in 1 MiB chunks.
    createReadStream(file, { highWaterMark: 1024 * 1024 }),
    { filename: 'bench.csv', bytes: statSync(file).size, options: {} },
    { spill: { store, thresholdKeys: Number(threshold) } },
  );
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    JSON.stringify({
      ms: Math.round(ms),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      spilledBytes: store.bytesWritten,
      rows: result.rows.total,
      customers: result.currencies.reduce((s, c) => s + (c.totals.customers ?? 0), 0),
    }),
  );
} finally {
  store.close();
}
