/**
 * One analysis in a process of its own, for the peak-RSS test of long keys
 * (long-keys-memory.test.ts): the worker's file spill store, its key threshold, and the
 * key byte budget given (`Infinity`: no budget, to see what it prevents). Prints one JSON line.
 *
 *   node --import tsx test/analysis/long-keys-child.ts <file> <spillRoot> <budgetBytes>
 */
import { createReadStream, statSync } from 'node:fs';
import { analyzeCsvStream } from '../../src/analysis/analyze-stream.ts';
import { FileSpillStore } from '../../src/analysis/spill/file-spill-store.ts';

const [file, spillRoot, budget] = process.argv.slice(2);
if (file === undefined || spillRoot === undefined || budget === undefined) {
  throw new Error('usage: long-keys-child.ts <file> <spillRoot> <budgetBytes>');
}
const store = new FileSpillStore(spillRoot, 8 * 1024 ** 3);
const result = await analyzeCsvStream(
  createReadStream(file, { highWaterMark: 1024 * 1024 }),
  { filename: 'long-keys.csv.gz', bytes: statSync(file).size, options: {} },
  // 250,000: the default SPILL_THRESHOLD_KEYS (src/config.ts)
  { spill: { store, thresholdKeys: 250_000, budgetBytes: Number(budget) } },
);
process.stdout.write(
  `${JSON.stringify({
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    spilledBytes: store.bytesWritten,
    rows: result.rows.total,
    customers: result.currencies[0]?.totals.customers,
  })}\n`,
);
