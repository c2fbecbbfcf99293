import { describe, expect, it } from 'vitest';
import { RecordBoundaryScan } from '../../src/analysis/split/record-boundaries.ts';
import { splitFile } from './split-files.ts';

function scan(text: string | Buffer, targets: number[], chunk = 1 << 16): RecordBoundaryScan {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const s = new RecordBoundaryScan(44, targets);
  for (let at = 0; at < bytes.length; at += chunk) s.push(bytes.subarray(at, at + chunk));
  return s;
}

describe('record boundaries found without parsing', () => {
  it('skips newlines inside quoted fields, escaped quotes included', () => {
    const text = 'h1,h2\n"a\nb ""q""\n",1\nx,2\n';
    // Target 7 is inside the quoted field; the first record start after it is "x,2".
    expect(scan(text, [7]).cuts).toEqual([{ offset: text.indexOf('x,2'), linesBefore: 4 }]);
  });

  it('reads a quote inside an unquoted field as text, as csv-parse with relax_quotes does', () => {
    const text = 'h1,h2\n5" screen,1\nx,2\n';
    expect(scan(text, [7]).cuts).toEqual([{ offset: text.indexOf('x,2'), linesBefore: 2 }]);
  });

  it('cuts a CRLF file only after CR LF, never at an LF inside a field', () => {
    const text = 'h1,h2\r\nab\ncd,1\r\nx,2\r\n';
    expect(scan(text, [8]).recordDelimiter).toBe('\r\n');
    expect(scan(text, [8]).cuts).toEqual([{ offset: text.indexOf('x,2'), linesBefore: 3 }]);
  });

  it('finds the same cuts whatever the chunks the bytes come in', () => {
    const file = splitFile({ rows: 800, seed: 3, customers: 100, lineEnd: '\r\n' });
    const targets = [1, 2, 3, 4, 5, 6, 7].map((k) => Math.floor((k * file.length) / 8));
    const whole = scan(file, targets).cuts;
    expect(whole).toHaveLength(7);
    for (const chunk of [1, 2, 3, 5, 7, 4093]) expect(scan(file, targets, chunk).cuts).toEqual(whole);
  });

  it('refuses what its line numbers cannot follow', () => {
    expect(scan('h1,h2\r1,2\r', [3]).refused).toBe('its lines end in CR alone');
    expect(scan('h1,h2\n1,2\r\n', [3]).refused).toBe('CR bytes in a file whose lines end in LF');
    expect(scan('h1,h2\r\n1\r2\r\n', [3], 9).refused).toBe('a CR not followed by LF');
  });
});
