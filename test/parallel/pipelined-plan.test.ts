import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { analyzeCsvStream } from '../../src/analysis/analyze-stream.ts';
import { analyzePart, type PartTask } from '../../src/analysis/split/analyze-part.ts';
import { mergeParts } from '../../src/analysis/split/merge-parts.ts';
import {
  LAST_PART_PACE,
  partTargets,
  planSplit,
  scanToLastCut,
} from '../../src/analysis/split/plan-split.ts';
import { RecordBoundaryScan } from '../../src/analysis/split/record-boundaries.ts';
import { useSpillStores } from './spill-stores.ts';
import { splitFile } from './split-files.ts';
import { splitInProcess } from './split-in-process.ts';

// The plan is pipelined: each part is handed out as soon as the scan has passed its end, with
// the decisions known by then, and the parts' results still merge to the one-pass result.

const spill = useSpillStores('tally-pipelined-', 500);

/** The file in 64 KiB chunks, counting how many bytes the reader has been handed. */
function countingSource(buf: Buffer): { source: AsyncIterable<Buffer>; handed: () => number } {
  let handed = 0;
  async function* source(): AsyncGenerator<Buffer> {
    for (let off = 0; off < buf.length; off += 64 * 1024) {
      const chunk = buf.subarray(off, off + 64 * 1024);
      handed += chunk.length;
      yield await Promise.resolve(chunk); // a chunk at a time, as a stored file's read arrives
    }
  }
  return { source: source(), handed: () => handed };
}

function chunks(buf: Buffer): AsyncIterable<Buffer> {
  const pieces: Buffer[] = [];
  for (let off = 0; off < buf.length; off += 5003) pieces.push(buf.subarray(off, off + 5003));
  return Readable.from(pieces, { objectMode: true });
}

describe('a pipelined split plan', () => {
  const file = splitFile({ rows: 12_000, seed: 7, customers: 5000 });

  /** The first record start at or past `target` (its notes hold line breaks: not the next LF). */
  function recordStartFrom(target: number): number {
    const scan = new RecordBoundaryScan(','.charCodeAt(0), [target]);
    scan.push(file);
    return scan.cuts[0]!.offset;
  }

  /** The file with a lone 0xE9 (é in Windows-1252, not UTF-8) in its last eighth, and one pass's result. */
  async function withLateWindows1252(): Promise<{ bytes: Buffer; expected: string }> {
    const bytes = Buffer.from(file);
    const at = bytes.indexOf('xxxx', Math.floor((bytes.length * 7) / 8));
    bytes[at] = 0xe9;
    const input = { filename: 'big.csv', bytes: bytes.length, options: {} };
    return {
      bytes,
      expected: JSON.stringify(await analyzeCsvStream(chunks(bytes), input, { spill: spill() })),
    };
  }

  it('hands out each part once the scan has passed its end, before the scan reaches the file end', async () => {
    const { source, handed } = countingSource(file);
    const seen: { index: number; end: number; handed: number }[] = [];
    const outcome = await planSplit(source, file.length, 4, {}, (task) => {
      seen.push({ index: task.index, end: task.range.end, handed: handed() });
      return Promise.resolve();
    });
    if ('refused' in outcome) throw new Error(outcome.refused);
    expect(seen.map((s) => s.index)).toEqual([0, 1, 2, 3]);
    // Parts 0–2 left while the scan was one chunk past their ends; only the last waited for the file's end.
    for (const s of seen.slice(0, 3)) {
      expect(s.handed).toBeGreaterThanOrEqual(s.end);
      expect(s.handed - s.end).toBeLessThan(64 * 1024 + 4096);
    }
    expect(seen[3]!.handed).toBe(file.length);
  });

  it('hands out no part of a file it refuses at its first cut', async () => {
    const tasks: PartTask[] = [];
    // 200 records before the first cut of 4: the format is decided from the first 1,000.
    const small = splitFile({ rows: 800, seed: 3, customers: 100 });
    const outcome = await planSplit(chunks(small), small.length, 4, {}, (t) => {
      tasks.push(t);
      return Promise.resolve();
    });
    expect(outcome).toEqual({ refused: 'the first 1,000 records reach past the first cut' });
    expect(tasks).toEqual([]);
  });

  it('stops reading a file it refuses (the file is then read again in one piece)', async () => {
    const cr = Buffer.from(file.toString('latin1').replaceAll('\n', '\r'), 'latin1');
    const { source, handed } = countingSource(cr);
    expect(await planSplit(source, cr.length, 4, {})).toEqual({ refused: 'its lines end in CR alone' });
    // The head (64 KiB) and no more: the refusal comes with the first chunk scanned.
    expect(handed()).toBeLessThanOrEqual(64 * 1024);
    expect(cr.length).toBeGreaterThan(10 * 64 * 1024);
  });

  it('reads parts before the first non-ASCII byte as UTF-8 and the rest as Windows-1252, as one pass does', async () => {
    // An ASCII head, then the lone 0xE9 in the last eighth of the file.
    const { bytes, expected } = await withLateWindows1252();
    expect(JSON.parse(expected).input.encoding).toBe('windows-1252');
    const tasks: PartTask[] = [];
    const outcome = await planSplit(chunks(bytes), bytes.length, 4, {}, (t) => {
      tasks.push(t);
      return Promise.resolve();
    });
    if ('refused' in outcome) throw new Error(outcome.refused);
    expect(tasks.map((t) => t.head.encoding)).toEqual(['utf-8', 'utf-8', 'utf-8', 'windows-1252']);
    const outputs = await Promise.all(
      tasks.map((t) =>
        analyzePart(chunks(bytes.subarray(t.range.start, t.range.end)), t, {}, { spill: spill() }),
      ),
    );
    const merged = await mergeParts(
      outcome.plan,
      outputs,
      { filename: 'big.csv', bytes: bytes.length, options: {} },
      spill(),
    );
    expect(JSON.stringify(merged)).toBe(expected);
  });

  it('reads the last part on from the scan, deciding Windows-1252 in it as one pass does', async () => {
    // The same lone 0xE9, now after the last of 4 cuts: the scan hands the last part out
    // before it has seen it, so the part decides the encoding from its own bytes.
    const { bytes, expected } = await withLateWindows1252();
    const split = await splitInProcess(bytes, chunks, chunks, 4, {}, spill);
    expect(split.queued.map((t) => t.head.encoding)).toEqual(['utf-8', 'utf-8', 'utf-8']);
    expect(split.last).toMatchObject({ index: 3, encodingProvisional: true, range: { crc32: null } });
    expect(split.plan.head.encoding).toBe('windows-1252');
    expect(JSON.stringify(split.result)).toBe(expected);
  });

  it('refuses the split when the last part holds what the scan cannot number (a lone CR)', async () => {
    const bytes = Buffer.from(file);
    const at = bytes.indexOf('xxxx', Math.floor((bytes.length * 7) / 8));
    bytes[at] = 13;
    const scanned = await scanToLastCut(chunks(bytes), bytes.length, 4, {});
    if ('refused' in scanned) throw new Error(scanned.refused);
    let read = 0;
    for await (const chunk of scanned.tail) read += chunk.length;
    // The tail stops at the chunk with the CR: a part's figures from it would be thrown away.
    expect(read).toBeLessThan(bytes.length - scanned.last.range.start);
    expect(scanned.refusal()).toBe('CR bytes in a file whose lines end in LF');
    expect(scanned.plan()).toEqual({ refused: 'CR bytes in a file whose lines end in LF' });
  });

  it('hands out part 0 at once, before the scan has found its end, which comes later', async () => {
    const { source, handed } = countingSource(file);
    const events: string[] = [];
    let firstAt = -1;
    const scanned = await scanToLastCut(
      source,
      file.length,
      4,
      {},
      (task) => {
        events.push(`part ${task.index} ends at ${task.range.end}`);
        return Promise.resolve();
      },
      {
        onFirst: (task) => {
          firstAt = handed();
          events.push('part 0 early');
          expect(task).toMatchObject({ index: 0, recordDelimiter: '\n', encodingProvisional: true });
          expect(task.target).toBe(partTargets(file.length, 4)[0]);
          return Promise.resolve();
        },
      },
    );
    if ('refused' in scanned) throw new Error(scanned.refused);
    // The head is read (HEAD_BYTES), then the first chunk scanned: part 0 leaves then.
    expect(firstAt).toBeLessThanOrEqual(2 * 64 * 1024);
    expect(events[0]).toBe('part 0 early');
    expect(events.slice(1).map((e) => e.split(' ')[1])).toEqual(['0', '1', '2']);
  });

  it("cuts two parts where both end together, on part 0's progress as the scan goes", async () => {
    // Part 0 has read nothing (not started, or no word yet): the middle; then it reads on.
    for (const read of [0, Math.floor(file.length / 3), Math.floor((file.length * 2) / 3)]) {
      const seen: number[] = [];
      let target = -1;
      let end = -1;
      const scanned = await scanToLastCut(
        chunks(file),
        file.length,
        2,
        {},
        (task) => {
          end = task.range.end;
          return Promise.resolve();
        },
        {
          onFirst: (task) => {
            target = task.target;
            return Promise.resolve();
          },
          firstPartRead: () => {
            seen.push(read);
            return read;
          },
        },
      );
      if ('refused' in scanned) throw new Error(scanned.refused);
      for await (const _ of scanned.tail); // read to the verified end
      expect(scanned.plan()).toHaveProperty('plan');
      // Part 0 reads up to the cut it would get with nothing read before it asks for its end.
      expect(target).toBe(Math.floor(file.length / (1 + LAST_PART_PACE)));
      // What part 0 has left is shared: the last part's share parses at LAST_PART_PACE.
      expect(end).toBe(recordStartFrom(Math.floor(read + (file.length - read) / (1 + LAST_PART_PACE))));
      expect(scanned.last.range.start).toBe(end);
      expect(seen.length).toBeGreaterThan(0);
    }
  });

  it('sets cuts beforehand without word of part 0, or with more than two parts', async () => {
    for (const [parts, firstPartRead] of [
      [2, undefined],
      [3, () => file.length / 3],
    ] as const) {
      const ends: number[] = [];
      const scanned = await scanToLastCut(
        chunks(file),
        file.length,
        parts,
        {},
        (task) => {
          ends.push(task.range.end);
          return Promise.resolve();
        },
        { onFirst: () => Promise.resolve(), ...(firstPartRead ? { firstPartRead } : {}) },
      );
      if ('refused' in scanned) throw new Error(scanned.refused);
      for await (const _ of scanned.tail);
      expect(ends).toEqual(partTargets(file.length, parts).map(recordStartFrom));
    }
  });

  it('cuts earlier parts larger, as parts queued later start later', () => {
    const bytes = 10_000_000;
    const sizes = (parts: number) => {
      const ends = [...partTargets(bytes, parts), bytes];
      return ends.map((end, k) => end - (k === 0 ? 0 : ends[k - 1]!));
    };
    const four = sizes(4);
    // Part 0 starts at once, part 1 when the scan passes its end: (1 + 0.15) / (1 - 0.15).
    expect(four[0]! / four[1]!).toBeCloseTo(1.15 / 0.85, 3);
    expect(four[1]! / four[2]!).toBeCloseTo(1.15, 3);
    // The last part starts with the one before it (at the last cut), so the two are alike.
    expect(four[2]! / four[3]!).toBeCloseTo(1, 3);
    // Two parts: part 1 is the last, starting when the scan reaches its start.
    expect(sizes(2)[0]! / sizes(2)[1]!).toBeCloseTo(1 / 0.85, 3);
    expect(partTargets(bytes, 1)).toEqual([]);
  });

  it('stops reading when the attempt is cancelled during the scan', async () => {
    const { source, handed } = countingSource(file);
    const abort = new AbortController();
    const cancelled = planSplit(
      source,
      file.length,
      4,
      {},
      () => {
        abort.abort(new Error('cancelled'));
        return Promise.resolve();
      },
      abort.signal,
    );
    await expect(cancelled).rejects.toThrow('cancelled');
    expect(handed()).toBeLessThan(file.length / 2);
  });
});
