import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { discoverRecordDelimiter, recordStartNear } from '../../src/analysis/split/record-boundaries.ts';
import type { RecordDelimiter } from '../../src/analysis/split/record-boundaries.ts';
import { splitFile } from './split-files.ts';

const COMMA = 44;

/** recordStartNear from `target` with only the bytes from two before it on (`window` bytes of them). */
function near(file: Buffer, target: number, recordDelimiter: RecordDelimiter = '\n', window = file.length) {
  const found = recordStartNear(file.subarray(target - 2, target + window), 2, COMMA, recordDelimiter);
  return found === null ? null : { at: target - 2 + found.at, sure: found.sure };
}

/**
 * Every offset where csv-parse (Tally's options: relax_quotes) is at the start of a record
 * or of a blank line before one: what a cut may be. From csv-parse's own `info.bytes` and
 * `raw`, not from the code under test.
 */
function recordStarts(file: Buffer, recordDelimiter: RecordDelimiter): Set<number> {
  const records = parse(file, {
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    record_delimiter: recordDelimiter,
    info: true,
    raw: true,
  }) as unknown as { raw: string; info: { bytes: number } }[];
  const starts = new Set<number>([0]);
  let from = 0;
  for (const { raw, info } of records) {
    // Blank lines before the record are in its raw text (ASCII files: characters are bytes).
    for (let at = 0; raw.startsWith(recordDelimiter, at); at += recordDelimiter.length)
      starts.add(from + at + recordDelimiter.length);
    starts.add(info.bytes);
    from = info.bytes;
  }
  return starts;
}

describe('a record start found near a cut, without the bytes before it', () => {
  it('skips newlines inside quoted fields, escaped quotes included', () => {
    const file = Buffer.from('h1,h2\n"a\nb ""q""\n",1\nx,"2"\ny,3\n');
    // Target 9 is inside the quoted field. Read from there as outside one, "",1 opens a field
    // where it closes one: the readings meet only at "2", and "y,3" is the first start both prove.
    expect(near(file, 9)).toEqual({ at: file.indexOf('y,3'), sure: true });
  });

  it('reads a quote inside an unquoted field as text, as csv-parse with relax_quotes does', () => {
    const file = Buffer.from('h1,h2\nab,5" screen\n"x",2\n');
    expect(near(file, 8)).toEqual({ at: file.indexOf('"x"'), sure: true });
  });

  it('cuts a CRLF file only after CR LF, never at an LF inside a field', () => {
    const file = Buffer.from('h1,h2\r\nab\ncd,1\r\n"x",2\r\ny,3\r\n');
    expect(near(file, 8, '\r\n')).toEqual({ at: file.indexOf('y,3'), sure: true });
  });

  it('guesses, unsure, where no quote tells inside from outside, and gives up where no record ends', () => {
    const file = Buffer.from('h1,h2\nab,1\ncd,2\nef,3\n');
    expect(near(file, 8)).toEqual({ at: file.indexOf('cd'), sure: false });
    expect(near(file, 8, '\n', 1)).toBeNull();
  });

  for (const lineEnd of ['\n', '\r\n'] as const) {
    it(`is right wherever it is sure, from every offset of a file with quoted line breaks (${JSON.stringify(lineEnd)})`, () => {
      const file = splitFile({ rows: 300, seed: 3, customers: 100, lineEnd });
      const starts = recordStarts(file, lineEnd);
      const targets = file.length - 200 - 2;
      let sure = 0;
      let skipped = 0;
      for (let target = 2; target < file.length - 200; target++) {
        const found = near(file, target, lineEnd, 64 * 1024);
        expect(found).not.toBeNull();
        if (!found!.sure) continue;
        sure++;
        if (!starts.has(found!.at)) throw new Error(`target ${target}: ${found!.at} is not a record start`);
        // It may pass record starts it cannot prove yet (the readings meet a record or two on).
        for (let p = target; p < found!.at; p++) if (starts.has(p)) skipped++;
      }
      // A third of the bytes sit in quoted fields, and still every cut is proven, passing
      // ~0.35 record starts on average (2026-12-06).
      expect(sure).toBe(targets);
      expect(skipped / sure).toBeLessThan(1);
    });
  }
});

describe('the record delimiter', () => {
  it("is taken from the file's first line break, as csv-parse discovers it", () => {
    expect(discoverRecordDelimiter(Buffer.from('h1,h2\r\n1,2\n'))).toBe('\r\n');
    expect(discoverRecordDelimiter(Buffer.from('h1,h2\n1,2\r\n'))).toBe('\n');
    expect(discoverRecordDelimiter(Buffer.from('h1,h2\r1,2\r'))).toBe('cr');
    expect(discoverRecordDelimiter(Buffer.from('h1,h2'))).toBeNull();
  });
});
