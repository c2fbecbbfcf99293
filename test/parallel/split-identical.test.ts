import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { analyzeCsvStream } from '../../src/analysis/analyze-stream.ts';
import type { JobOptions } from '../../src/analysis/options.ts';
import { analyzePart, partTask } from '../../src/analysis/split/analyze-part.ts';
import { partTargets, planSplit } from '../../src/analysis/split/plan-split.ts';
import { useSpillStores } from './spill-stores.ts';
import { splitFile } from './split-files.ts';
import { splitInProcess } from './split-in-process.ts';

// One big file analysed as parts and merged must give the one-pass result byte for byte.
// Every store here spills at 500 keys, so the parts' customer tables leave as runs and the
// merge's visit reads runs from every part.

const THRESHOLD = 500;
const spill = useSpillStores('tally-split-', THRESHOLD);

function chunks(buf: Buffer, size = 64 * 1024): AsyncIterable<Buffer> {
  const pieces: Buffer[] = [];
  for (let off = 0; off < buf.length; off += size) pieces.push(buf.subarray(off, off + size));
  return Readable.from(pieces, { objectMode: true });
}

const input = (buf: Buffer, options: JobOptions = {}) => ({
  filename: 'big.csv',
  bytes: buf.length,
  options,
});

async function onePass(buf: Buffer, options: JobOptions = {}): Promise<string> {
  return JSON.stringify(await analyzeCsvStream(chunks(buf), input(buf, options), { spill: spill() }));
}

/** Splits `buf` as a worker does: the last part read on from the scan, the others from their ranges. */
async function split(buf: Buffer, parts: number, options: JobOptions = {}) {
  const { plan, queued, last, result } = await splitInProcess(
    buf,
    (b) => chunks(b),
    (b) => chunks(b, 7919),
    parts,
    options,
    spill,
  );
  expect([...queued, last].map((t) => t.range)).toEqual(plan.parts);
  expect(plan.parts.map((p) => p.crc32 === null)).toEqual(plan.parts.map((_, k) => k === parts - 1));
  return { plan, json: JSON.stringify(result) };
}

describe('a file analysed in parts', () => {
  const file = splitFile({ rows: 12_000, seed: 7, customers: 5000 });

  it('merges to the one-pass result byte for byte, whatever the number of parts', async () => {
    const expected = await onePass(file);
    for (const parts of [2, 3, 5, 8]) {
      const { plan, json } = await split(file, parts);
      expect(plan.parts).toHaveLength(parts);
      expect(json).toBe(expected);
    }
    const result = JSON.parse(expected);
    // The file has every kind of row the merge must carry.
    expect(result.rows.rejected).toBeGreaterThan(100);
    expect(result.rows.excluded).toBeGreaterThan(1000);
    expect(result.currencies[0].totals.customers).toBeGreaterThan(THRESHOLD * 4);
    expect(result.currencies[0].totals.refunds).toBeGreaterThan(0);
  });

  it('cuts only where a record starts, not at the first newline after a target', async () => {
    const outcome = await planSplit(chunks(file), file.length, 8, {});
    if ('refused' in outcome) throw new Error(outcome.refused);
    const targets = partTargets(file.length, 8);
    const naive = outcome.plan.parts.slice(1).filter((p, k) => {
      const target = targets[k]!;
      return file.indexOf(10, target) + 1 !== p.start;
    });
    // Most targets fall inside a quoted note; the scan skipped the newlines in it.
    expect(naive.length).toBeGreaterThan(0);
  });

  it('numbers lines as the whole file does, with CRLF line ends', async () => {
    const crlf = splitFile({ rows: 6000, seed: 11, customers: 3000, lineEnd: '\r\n' });
    const expected = await onePass(crlf);
    expect((await split(crlf, 4)).json).toBe(expected);
  });

  it('reads a part whose bytes differ from the plan as FILE_CORRUPT', async () => {
    const outcome = await planSplit(chunks(file), file.length, 2, {});
    if ('refused' in outcome) throw new Error(outcome.refused);
    const p = outcome.plan.parts[0]!; // a part queued for any worker, read from its range
    const bytes = Buffer.from(file.subarray(p.start, p.end));
    bytes[10] = bytes[10]! ^ 1;
    await expect(
      analyzePart(chunks(bytes), partTask(outcome.plan, 0), {}, { spill: spill() }),
    ).rejects.toMatchObject({
      code: 'FILE_CORRUPT',
    });
  });

  it('refuses to split a file whose lines end in CR alone', async () => {
    const cr = Buffer.from(file.toString('latin1').replaceAll('\n', '\r'), 'latin1');
    expect(await planSplit(chunks(cr), cr.length, 4, {})).toEqual({ refused: 'its lines end in CR alone' });
  });
});
