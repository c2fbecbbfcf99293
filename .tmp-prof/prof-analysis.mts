import { createReadStream } from 'node:fs';
import { analyzeCsvStream } from '/work/main/src/analysis/analyze-stream.ts';
const file = '/tmp/tally-bench-revenue-v2-1000000.csv';
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  const r = await analyzeCsvStream(createReadStream(file, { highWaterMark: 1 << 20 }), { filename: 'x.csv', bytes: 0, options: {} as any });
  console.log(Math.round(performance.now() - t), 'ms', r.rows?.valid);
}
