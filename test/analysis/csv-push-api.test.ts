import { describe, expect, it } from 'vitest';
import { createCsvPushApi, csvParseOptions } from '../../src/analysis/read/csv-records.ts';

/**
 * createCsvPushApi gives every parser its own state over one set of csv-parse's methods
 * (shared so the parse loop stays fast past the first parser in a process). These check
 * that the sharing shares nothing else: parsers fed in turn read exactly as each alone.
 */

interface Read {
  records: string[][];
  /** `info.lines` as each record was pushed. */
  lines: number[];
}

type Api = ReturnType<typeof createCsvPushApi>;

function reader(api: Api): { read: Read; feed(bytes: Buffer | undefined, end: boolean): void } {
  const read: Read = { records: [], lines: [] };
  const push = (record: string[]): void => {
    read.records.push(record);
    read.lines.push(api.info.lines);
  };
  return {
    read,
    feed(bytes, end) {
      const error = api.parse(bytes, end, push, () => undefined);
      if (error) throw error;
    },
  };
}

/** Slices of `step` bytes: records and quoted fields cut across slices. */
function slices(text: string, step: number): Buffer[] {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += step) out.push(bytes.subarray(at, at + step));
  return out;
}

function alone(text: string, delimiter: string, step: number, recordDelimiter?: '\n' | '\r\n'): Read {
  const r = reader(createCsvPushApi(csvParseOptions(delimiter, 1024, recordDelimiter)));
  for (const slice of slices(text, step)) r.feed(slice, false);
  r.feed(undefined, true);
  return r.read;
}

const commas = 'id,note,amount\n1,"two\nlines",3.50\n2,plain,4\n\n3,"a ""quoted"" word",5\n';
const semicolons = 'id;note;amount\r\n10;x;1,5\r\n11;"y\r\nz";2\r\n12;w;3\r\n';

describe('csv-parse push APIs made by createCsvPushApi', () => {
  it('read in turn, slice by slice, exactly as each does alone', () => {
    const a = reader(createCsvPushApi(csvParseOptions(',', 1024)));
    const b = reader(createCsvPushApi(csvParseOptions(';', 1024, '\r\n')));
    const sa = slices(commas, 5);
    const sb = slices(semicolons, 3);
    for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
      if (i < sa.length) a.feed(sa[i], false);
      if (i < sb.length) b.feed(sb[i], false);
    }
    a.feed(undefined, true);
    b.feed(undefined, true);

    expect(a.read).toEqual(alone(commas, ',', 5));
    expect(b.read).toEqual(alone(semicolons, ';', 3, '\r\n'));
    // And what they read is the files' records, not merely the same mistake twice.
    expect(a.read.records).toEqual([
      ['id', 'note', 'amount'],
      ['1', 'two\nlines', '3.50'],
      ['2', 'plain', '4'],
      ['3', 'a "quoted" word', '5'],
    ]);
    expect(b.read.records.map((r) => r[1])).toEqual(['note', 'x', 'y\r\nz', 'w']);
  });

  it('keep their own line counts: a parser made later starts at line 1', () => {
    const first = reader(createCsvPushApi(csvParseOptions(',', 1024)));
    first.feed(Buffer.from('a,b\n1,2\n3,4\n'), false);
    const second = reader(createCsvPushApi(csvParseOptions(',', 1024)));
    second.feed(Buffer.from('a,b\n'), false);
    second.feed(undefined, true);
    first.feed(undefined, true);

    expect(second.read.lines).toEqual([1]);
    expect(first.read.lines).toEqual([1, 2, 3]);
  });
});
