import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sniffUpload } from '../../src/api/upload/sniff-upload.ts';
import { readHeaderNames } from '../../src/web/src/components/csv-head.ts';

/**
 * The page's column preview reads a file as the upload check does: the same header names,
 * for files where a reader of its own went wrong (a first line with more commas than
 * semicolons in a `;` file, a quoted header cell holding a newline, Windows-1252, gzip).
 * Runs in Node, whose Blob, TextDecoder and DecompressionStream are the browser's APIs.
 */
const semicolonFile = [
  'Date;Amount;"Customer, Name";Note, internal, free',
  ...Array.from({ length: 30 }, (_, i) => `0${(i % 9) + 1}.02.2024;1.234,56;K${i};x`),
].join('\n');

const files: [string, Buffer][] = [
  ['a `;` file whose first line has more commas', Buffer.from(semicolonFile)],
  ['a quoted header cell with a newline', Buffer.from('date,"amount\n(gross)",customer\n2024-01-01,5,a\n')],
  ['Windows-1252', Buffer.from('Date;Amount;Kunde;Währung\n01.02.2024;5,00;Müller;EUR\n', 'latin1')],
  ['UTF-16LE with a BOM', Buffer.from('\uFEFFdate\tamount\tKunde\n2024-01-01\t5\tMüller\n', 'utf16le')],
  ['gzip', gzipSync(Buffer.from(semicolonFile))],
];

describe('the column preview', () => {
  it.each(files)('reads %s as the server does', async (_what, bytes) => {
    const server = (await sniffUpload(bytes, {})).header.map((name) => name.trim());
    expect(await readHeaderNames(new Blob([new Uint8Array(bytes)]))).toEqual(server);
  });

  it('names what the server names in the `;` file (not the first line split at commas)', async () => {
    expect(await readHeaderNames(new Blob([semicolonFile]))).toEqual([
      'Date',
      'Amount',
      'Customer, Name',
      'Note, internal, free',
    ]);
  });

  it('follows the delimiter and encoding the person chose', async () => {
    const latin2 = Buffer.from([0x61, 0x7c, 0xb3, 0x0a, 0x31, 0x7c, 0x32, 0x0a]); // "a|ł"
    expect(await readHeaderNames(new Blob([new Uint8Array(latin2)]), '|', 'iso-8859-2')).toEqual(['a', 'ł']);
  });

  it('offers no names for binary data, which the server refuses', async () => {
    const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    await expect(sniffUpload(binary, {})).rejects.toThrow(/binary/);
    await expect(readHeaderNames(new Blob([new Uint8Array(binary)]))).rejects.toThrow(/binary/);
  });
});
