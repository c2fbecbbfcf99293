/**
 * Where a split file's merge spends its time, without the database: the cached P6 quick file
 * (1M rows) planned, its parts analysed one after another in this process, then merged.
 *   npx tsx bench/split-merge-profile.ts [parts] [rows]
 * Prints wall and CPU ms of one pass, the plan, each part and the merge: CPU time is
 * what the shared machine's load does not inflate much, so it is what a projection uses.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { analyzeCsvStream } from '../src/analysis/analyze-stream.ts';
import { FileSpillStore } from '../src/analysis/spill/file-spill-store.ts';
import { analyzePart, partTask, type PartOutput } from '../src/analysis/split/analyze-part.ts';
import { mergeCheckedFigures, resultOfParts } from '../src/analysis/split/merge-parts.ts';
import { fileCrc32 } from '../src/analysis/split/part-checksum.ts';
import { planSplit } from '../src/analysis/split/plan-split.ts';
import { benchFile } from './lib/revenue-csv.ts';
import { peakRssMib, resetPeakRss } from './support/processes.ts';

const parts = Number(process.argv[2] ?? 4);
const rows = Number(process.argv[3] ?? 1_000_000);
const file = await benchFile(rows);
const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-merge-profile-'));
const spill = () => ({ store: new FileSpillStore(dir, 2 ** 34), thresholdKeys: 250_000 });
const read = (start = 0, end = file.bytes) =>
  createReadStream(file.path, { start, end: end - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
/** Wall and CPU milliseconds since `from`. */
function since(from: { wall: number; cpu: NodeJS.CpuUsage }): string {
  const cpu = process.cpuUsage(from.cpu);
  const peak = `peak ${peakRssMib(process.pid)} MiB, rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`;
  resetPeakRss(process.pid);
  return `${peak} ${Math.round(performance.now() - from.wall)} ms wall, ${Math.round((cpu.user + cpu.system) / 1000)} ms CPU`;
}
const mark = () => ({ wall: performance.now(), cpu: process.cpuUsage() });
try {
  let t = mark();
  await analyzeCsvStream(
    read(),
    { filename: 'bench.csv', bytes: file.bytes, options: {} },
    { spill: spill() },
  );
  console.log(`one pass ${since(t)}`);
  t = mark();
  const outcome = await planSplit(read, file.bytes, parts, {});
  if ('refused' in outcome) throw new Error(outcome.refused);
  console.log(`plan ${since(t)}`);
  const { plan } = outcome;
  const outputs: PartOutput[] = [];
  for (const task of plan.parts.map((_, k) => partTask(plan, k))) {
    t = mark();
    outputs.push(await analyzePart(read(task.range.start, task.range.end), task, {}, { spill: spill() }));
    const runBytes = outputs.at(-1)!.runs.reduce((n, r) => n + r.bytes.length, 0);
    console.log(
      `part ${task.index} ${since(t)}, ${task.range.end - task.range.start} bytes, runs ${runBytes} bytes`,
    );
  }
  t = mark();
  const input = { filename: 'bench.csv', bytes: file.bytes, options: {} };
  // The file's CRC-32 as the upload would have recorded it: the parts' own, folded.
  const uploadCrc32 = fileCrc32(
    outputs.map((o, k) => ({ crc32: o.figures.crc32, bytes: plan.parts[k]!.end - plan.parts[k]!.start })),
  );
  const merged = mergeCheckedFigures(
    plan,
    outputs.map((o) => o.figures),
    uploadCrc32,
  );
  if (typeof merged === 'string') throw new Error(`inexact: ${merged}`);
  await resultOfParts(
    plan,
    merged,
    outputs.flatMap((o) => o.runs),
    input,
    spill(),
  );
  console.log(`merge ${since(t)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
