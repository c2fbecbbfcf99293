/**
 * Worker memory is bounded by key bytes, not key counts. A small gzip of
 * long distinct keys (customer, product and region of ~1,000 bytes each, every row new)
 * is analysed in a child process started as a worker is (`node --import tsx`, default heap),
 * and its peak RSS (`process.resourceUsage().maxRSS`) must stay under 384 MiB.
 *
 * Without the key byte budget (the child run with budget Infinity) the same file peaked at
 * 425 MiB on the dev VM and spilled nothing: 45,000 rows × 3 keys × ~2 KB of UTF-16 stay in
 * memory, far below the 250,000-key threshold. With it: measured in the log line below.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_KEY_BYTES } from '../../src/analysis/aggregate/key-budget.ts';

const ROWS = 45_000;
const child = fileURLToPath(new URL('./long-keys-child.ts', import.meta.url));
let dir = '';
let file = '';

async function writeLongKeys(to: string): Promise<void> {
  const gzip = createGzip({ level: 6 });
  const out = createWriteStream(to);
  gzip.pipe(out);
  const pad = (prefix: string, i: number) => `${prefix}${i}-`.padEnd(MAX_KEY_BYTES - 24, 'k');
  gzip.write('Date,Customer,Product,Region,Amount\n');
  for (let i = 0; i < ROWS; i++) {
    const line = `2024-01-${String((i % 28) + 1).padStart(2, '0')},${pad('c', i)},${pad('p', i)},${pad('r', i)},1.00\n`;
    if (!gzip.write(line)) await once(gzip, 'drain');
  }
  gzip.end();
  await once(out, 'finish');
}

async function analyzeInChild(
  budget: number,
): Promise<{ maxRssMiB: number; spilledBytes: number; rows: number; customers: number }> {
  const p = spawn(
    process.execPath,
    ['--import', 'tsx', child, file, path.join(dir, 'spill'), String(budget)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  p.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const [code] = (await once(p, 'exit')) as [number];
  expect(code).toBe(0);
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tally-long-keys-'));
  file = path.join(dir, 'long-keys.csv.gz');
  await writeLongKeys(file);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('long distinct keys (key byte budget)', () => {
  it('keep the worker under 384 MiB and every key exact', async () => {
    const r = await analyzeInChild(64 * 1024 * 1024);
    process.stdout.write(`long keys: peak RSS ${r.maxRssMiB} MiB, spilled ${r.spilledBytes} bytes\n`);
    expect(r.rows).toBe(ROWS);
    expect(r.customers).toBe(ROWS); // spilled and merged, none cut or merged
    expect(r.spilledBytes).toBeGreaterThan(0);
    expect(r.maxRssMiB).toBeLessThan(384);
  }, 240_000);
});
