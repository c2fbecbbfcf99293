/**
 * What v1.2's row classification costs on the P2 file (bench/analysis.bench.ts), measured
 * as CPU time of `analyzeCsvStream` runs alternating with a baseline build of the analysis
 * (an older checkout) in the same process, so a busy neighbour disturbs both alike:
 *
 *   git archive <before> | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/
 *   npx tsx bench/analysis-classify.bench.ts --base /tmp/base --runs 3
 *
 * Two files: the P2 file as it is (no status/type column: the classifier is idle), and the
 * same rows with `Status` and `Type` columns appended (`paid`/`charge`, one row in 20
 * `failed`/`payout`), where every row is classified.
 */
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { analyzeCsvStream } from '../src/analysis/analyze-stream.ts';
import { benchFile } from './lib/revenue-csv.ts';

type Analyze = typeof analyzeCsvStream;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

async function withCategories(path: string): Promise<string> {
  const out = path.replace(/\.csv$/, '-categories.csv');
  if (existsSync(out)) return out;
  const w = createWriteStream(out);
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(path) })) {
    const extra = n === 0 ? 'Status,Type' : n % 20 === 0 ? 'failed,payout' : 'paid,charge';
    n++;
    if (!w.write(`${line},${extra}\n`)) await once(w, 'drain');
  }
  await new Promise<void>((r) => w.end(() => r()));
  return out;
}

async function cpuMs(analyze: Analyze, path: string): Promise<number> {
  const start = process.cpuUsage();
  await analyze(createReadStream(path, { highWaterMark: 1 << 20 }), {
    filename: 'p2.csv',
    bytes: statSync(path).size,
    options: {},
  });
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const base = arg('base', '/tmp/an/base');
  const runs = Number(arg('runs', '3'));
  const rows = Number(arg('rows', '1000000'));
  const before = (await import(pathToFileURL(`${base}/src/analysis/analyze-stream.ts`).href)) as {
    analyzeCsvStream: Analyze;
  };
  const after = await import('../src/analysis/analyze-stream.ts');
  const plain = (await benchFile(rows)).path;
  const files = { 'P2 file': plain, 'P2 + Status, Type': await withCategories(plain) };
  for (const [label, path] of Object.entries(files)) {
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < runs; i++) {
      a.push(await cpuMs(before.analyzeCsvStream, path));
      b.push(await cpuMs(after.analyzeCsvStream, path));
    }
    const ratio = median(b) / median(a);
    console.log(
      `${label.padEnd(20)} before ${median(a).toFixed(0)} ms CPU, after ${median(b).toFixed(0)} ms CPU: ` +
        `after/before ${ratio.toFixed(3)} (runs before ${a.map((x) => x.toFixed(0)).join(' ')}; after ${b.map((x) => x.toFixed(0)).join(' ')})`,
    );
  }
}

await main();
