import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { analyzeCsvStream } from '../../src/analysis/analyze-stream.ts';
import type { JobOptions } from '../../src/analysis/options.ts';
import {
  CUT_WINDOW_BYTES,
  OWN_PART_PACE,
  partTargets,
  planSplit,
} from '../../src/analysis/split/plan-split.ts';
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

/** Splits `buf` as a worker does, each part read from its own range in odd-sized chunks. */
async function split(buf: Buffer, parts: number, options: JobOptions = {}) {
  const done = await splitInProcess(buf, (b) => chunks(b, 7919), parts, options, spill);
  return { ...done, json: JSON.stringify(done.result) };
}

/** `file` with byte `value` written over the first 'x' of a note past `fraction` of it. */
function withByteAt(file: Buffer, fraction: number, value: number): Buffer {
  const bytes = Buffer.from(file);
  bytes[bytes.indexOf('xxxx', Math.floor(bytes.length * fraction))] = value;
  return bytes;
}

describe('a file analysed in parts', () => {
  const file = splitFile({ rows: 12_000, seed: 7, customers: 5000 });

  it('merges to the one-pass result byte for byte, whatever the number of parts', async () => {
    const expected = await onePass(file);
    for (const parts of [2, 3, 5, 8]) {
      const { plan, json, outputs } = await split(file, parts);
      expect(plan.parts).toHaveLength(parts);
      // Later parts number lines from their own start; the merge moved them.
      expect(outputs.slice(1).every((o) => o.figures.samples.every((s) => s.line <= o.figures.lines))).toBe(
        true,
      );
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
    const { plan } = await split(file, 8);
    const targets = partTargets(file.length, 8);
    const naive = plan.parts.slice(1).filter((p, k) => file.indexOf(10, targets[k]) + 1 !== p.start);
    // Most targets fall inside a quoted note; the plan skipped the newlines in it.
    expect(naive.length).toBeGreaterThan(0);
  });

  it("sizes the parts alike but the attempt's own, which it parses beside its other work", () => {
    const targets = partTargets(1_000_000, 4);
    const sizes = [...targets, 1_000_000].map((t, k) => t - (k === 0 ? 0 : targets[k - 1]!));
    expect(sizes[0]! / sizes[1]!).toBeCloseTo(OWN_PART_PACE, 3);
    expect(new Set(sizes.slice(1).map((n) => Math.round(n / 10)))).toHaveLength(1);
  });

  it('reads the head and a window at each cut, never the file through', async () => {
    const big = splitFile({ rows: 60_000, seed: 9, customers: 5000 });
    const { planRead, json } = await split(big, 2);
    expect(planRead).toBeLessThan(CUT_WINDOW_BYTES + 2 + 256 * 1024);
    expect(big.length).toBeGreaterThan(2 * planRead);
    expect(json).toBe(await onePass(big));
  });

  it('numbers lines as the whole file does, with CRLF line ends', async () => {
    const crlf = splitFile({ rows: 6000, seed: 11, customers: 3000, lineEnd: '\r\n' });
    const expected = await onePass(crlf);
    expect((await split(crlf, 4)).json).toBe(expected);
  });

  it('fails FILE_CORRUPT when the bytes the parts read are not the upload, however they still parse', async () => {
    const changed = Buffer.from(file);
    const at = Math.floor(file.length / 3);
    changed[at] = changed[at]! ^ 1;
    await expect(
      splitInProcess(file, (b) => chunks(b), 3, {}, spill, { stored: changed }),
    ).rejects.toMatchObject({ code: 'FILE_CORRUPT' });
    await expect(
      splitInProcess(file, (b) => chunks(b), 3, {}, spill, { uploadCrc32: crc32(file) ^ 1 }),
    ).rejects.toMatchObject({ code: 'FILE_CORRUPT' });
  });

  it('reads a file whose head is ASCII in the encoding its first non-ASCII bytes decide, as one pass does', async () => {
    // A lone 0xE9 (é in Windows-1252, not UTF-8) in the last eighth: the parts before it read
    // only ASCII, and the last decides Windows-1252 for the file.
    const late = withByteAt(file, 7 / 8, 0xe9);
    const expected = await onePass(late);
    expect(JSON.parse(expected).input.encoding).toBe('windows-1252');
    const { json, outputs } = await split(late, 4);
    expect(outputs.map((o) => o.figures.encoding)).toEqual([null, null, null, 'windows-1252']);
    expect(json).toBe(expected);
  });

  it('gives the file back to one pass when its parts decided different encodings', async () => {
    // UTF-8 é in the first part decides UTF-8 for the file; one pass then reads the lone
    // 0xE9 of the last part as U+FFFD, which that part, deciding alone, would not.
    const utf8First = withByteAt(file, 1 / 8, 0x41);
    const at = utf8First.indexOf('xxxx', Math.floor(file.length / 8));
    const mixed = Buffer.concat([utf8First.subarray(0, at), Buffer.from('é'), utf8First.subarray(at)]);
    mixed[mixed.indexOf('xxxx', Math.floor((mixed.length * 7) / 8))] = 0xe9;
    await expect(split(mixed, 4)).rejects.toThrow('inexact: the parts read different encodings');
  });

  it('numbers lines as one pass does around what csv-parse counts its own way (a lone CR, a lone LF in a CRLF file)', async () => {
    const loneCr = withByteAt(withByteAt(file, 1 / 8, 13), 5 / 8, 13);
    expect((await split(loneCr, 4)).json).toBe(await onePass(loneCr));
    const crlf = splitFile({ rows: 6000, seed: 11, customers: 3000, lineEnd: '\r\n' });
    const loneLf = withByteAt(withByteAt(crlf, 1 / 8, 10), 5 / 8, 10);
    const expected = await onePass(loneLf);
    expect((await split(loneLf, 4)).json).toBe(expected);
    // Rows were rejected after those bytes: their line numbers are in the result.
    expect(JSON.parse(expected).rows.rejected).toBeGreaterThan(10);
  });

  it('gives the file back to one pass when a cut it could not prove falls inside a quoted field', async () => {
    // A quoted note with no quote in it, over the middle of the file, longer than the
    // plan's window there (made small here: in a worker it is as long as the longest record).
    const row = (i: number) =>
      `2021-01-${String(1 + (i % 28)).padStart(2, '0')},c${i % 900},p${i % 7},paid,sale,${i}.25,USD,`;
    const rows = Array.from({ length: 12_000 }, (_, i) => row(i));
    const note = `"${'a note line\n'.repeat(6000)}"`;
    rows.splice(6000, 0, `${row(0)}${note}`);
    const long = Buffer.from(
      ['Date,Customer,Product,Status,Type,Amount,Currency,Notes', ...rows, ''].join('\n'),
    );
    expect(long.indexOf(note) < long.length / 2 && long.indexOf(note) + note.length > long.length / 2).toBe(
      true,
    );
    const splitLong = splitInProcess(long, (b) => chunks(b), 2, {}, spill, { windowBytes: 4096 });
    await expect(splitLong).rejects.toThrow('inexact: a cut fell inside a quoted field');
    // With the window as long as a record may be, the cut is proven, past the note.
    expect((await split(long, 2)).json).toBe(await onePass(long));
  });

  it('refuses to split a file whose lines end in CR alone, reading no more than its head', async () => {
    const cr = Buffer.from(file.toString('latin1').replaceAll('\n', '\r'), 'latin1');
    let read = 0;
    const outcome = await planSplit(
      (start, end) => {
        const piece = chunks(cr.subarray(start, end));
        return (async function* () {
          for await (const c of piece) yield ((read += c.length), c);
        })();
      },
      cr.length,
      4,
      {},
    );
    expect(outcome).toEqual({ refused: 'its lines end in CR alone' });
    expect(read).toBeLessThanOrEqual(64 * 1024);
  });

  it('stops planning when the attempt is cancelled', async () => {
    const abort = new AbortController();
    abort.abort(new Error('cancelled'));
    await expect(
      planSplit(
        (start, end) => chunks(file.subarray(start, end)),
        file.length,
        4,
        {},
        { signal: abort.signal },
      ),
    ).rejects.toThrow('cancelled');
  });
});
